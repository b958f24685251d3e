// Loads the optional AES-256-GCM addon (native/aes256gcm.c, built into dist/native/ by the build).
// Found through `process.getBuiltinModule` like node:crypto (_builtin.ts), so that non-Node runtimes
// and bundlers see no reference to it; absent, unloadable or failing its self-test, it is simply not used.
import { findBuiltinModule } from './_builtin.js';
import type { Aead } from './backend.js';

/** The addon's exports (see native/aes256gcm.c). */
export interface NativeAeadAddon {
  key(key: Uint8Array): object;
  seal(
    handle: object,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): void;
  open(
    handle: object,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): boolean;
  /** Frees the handle's contexts (made again on its next use); absent in an addon built before it. */
  release?(handle: object): void;
}

interface ModuleLike {
  createRequire(from: string): (id: string) => unknown;
}

// Relative to this module, which is src/ under test and dist/ when built: both sit in the package.
const ADDON_URL = '../dist/native/aes256gcm.node';

// McGrew & Viega test case 14 (AES-256, zero key and IV, one zero block), checked once at load so
// that an addon built against mismatched headers is never used.
const SELF_TEST = {
  key: '00'.repeat(32),
  nonce: '00'.repeat(12),
  plaintext: '00'.repeat(16),
  sealed: 'cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919',
};

function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function passesSelfTest(addon: NativeAeadAddon): boolean {
  const handle = addon.key(hex(SELF_TEST.key));
  const sealed = new Uint8Array(32);
  addon.seal(handle, hex(SELF_TEST.nonce), new Uint8Array(0), hex(SELF_TEST.plaintext), sealed, 0);
  if (sealed.some((b, i) => b !== hex(SELF_TEST.sealed)[i])) return false;
  const opened = new Uint8Array(16);
  if (!addon.open(handle, hex(SELF_TEST.nonce), new Uint8Array(0), sealed, opened, 0)) return false;
  sealed[0] = (sealed[0] ?? 0) ^ 1;
  return !addon.open(handle, hex(SELF_TEST.nonce), new Uint8Array(0), sealed, opened, 0);
}

/** The addon when it is built and works in this runtime, else undefined. `scope` is for tests. */
export function findNativeAead(scope: object = globalThis): NativeAeadAddon | undefined {
  const mod = findBuiltinModule('node:module', scope) as ModuleLike | undefined;
  if (mod === undefined || typeof mod.createRequire !== 'function') return undefined;
  try {
    const addon = mod.createRequire(import.meta.url)(ADDON_URL) as NativeAeadAddon;
    return passesSelfTest(addon) ? addon : undefined;
  } catch {
    return undefined;
  }
}

/**
 * AES-256-GCM over the addon: an OpenSSL context per key and direction, made on first use, only the
 * nonce reset per call; `release` frees the contexts of an idle key. A class, not closures: a daemon
 * holds one per peer.
 */
export function nativeAead(addon: NativeAeadAddon, key: Uint8Array): Aead {
  return new NativeAead(addon, key);
}

class NativeAead implements Aead {
  readonly #addon: NativeAeadAddon;
  readonly #handle: object;

  constructor(addon: NativeAeadAddon, key: Uint8Array) {
    this.#addon = addon;
    this.#handle = addon.key(key);
  }

  sealInto(
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): void {
    this.#addon.seal(this.#handle, nonce, aad, plaintext, out, outOffset);
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
    if (sealed.length < 16) return undefined;
    const plaintext = new Uint8Array(sealed.length - 16);
    return this.#addon.open(this.#handle, nonce, aad, sealed, plaintext, 0) ? plaintext : undefined;
  }

  openInto(
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): boolean {
    return this.#addon.open(this.#handle, nonce, aad, sealed, out, outOffset);
  }

  release(): void {
    this.#addon.release?.(this.#handle);
  }
}
