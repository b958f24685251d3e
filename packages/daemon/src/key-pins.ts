import { createHash } from 'node:crypto';
import { rotationProofValid } from '@pilot/directory/client';
import type { Logger } from './logger.js';
import type { TrustStore } from './trust-store.js';

/** What the registry says a node's key is, with its last rotation if it shows one. */
export interface RegistryKey {
  readonly publicKey: string;
  readonly rotation?: { readonly previousKey: string; readonly proof: string } | undefined;
}

/** SHA-256 of a base64 Ed25519 key, hex: what `pilotctl trust` shows for a pinned key. */
export function keyFingerprint(publicKeyB64: string): string {
  if (publicKeyB64 === '') return '';
  return createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('hex');
}

/**
 * Trust is bound to (node ID, Ed25519 key): the key a peer had when we trusted it is pinned in
 * trust.json, and a registry answer (lookup, list_nodes) naming another key for that node is not
 * believed — someone between us and the registry, or a registry that handed the ID to someone else,
 * would otherwise get their PILA accepted as the trusted peer's. A rotation is believed only with
 * the old key's signature over `rotate:<id>:<new key>` (which our registry keeps and shows);
 * then the pin moves to the new key.
 */
export class KeyPins {
  readonly #store: TrustStore;
  readonly #log: Logger;
  readonly #emit: (event: string, data: Record<string, unknown>) => void;
  /** Refused answers, for info and tests. */
  refused = 0;

  constructor(store: TrustStore, log: Logger, emit: (event: string, data: Record<string, unknown>) => void) {
    this.#store = store;
    this.#log = log;
    this.#emit = emit;
  }

  /** The pinned key of a trusted node, or undefined when it is not trusted or no key was recorded. */
  pinned(node: number): string | undefined {
    const key = this.#store.trusted.get(node)?.public_key;
    return key === undefined || key === '' ? undefined : key;
  }

  /**
   * The key to believe for `node`, given what the registry says: the registry's key when the node
   * is not pinned (or it matches, or it rotated with a valid proof, which moves the pin), else the
   * pinned key (and the registry's answer is refused and logged).
   */
  check(node: number, registry: RegistryKey, where: string): string {
    const pin = this.pinned(node);
    if (pin === undefined || registry.publicKey === pin) return registry.publicKey;
    const rotation = registry.rotation;
    if (
      rotation !== undefined &&
      rotation.previousKey === pin &&
      rotationProofValid(node, pin, registry.publicKey, rotation.proof)
    ) {
      const peer = this.#store.trusted.get(node);
      if (peer !== undefined) {
        peer.public_key = registry.publicKey;
        this.#store.save();
      }
      this.#log.info('a trusted peer rotated its key (the old key signed the new one)', {
        peer: node,
        key: keyFingerprint(registry.publicKey).slice(0, 16),
      });
      this.#emit('trust.key_rotated', { peer: node, key_fingerprint: keyFingerprint(registry.publicKey) });
      return registry.publicKey;
    }
    this.refused++;
    this.#log.warn('refused a key for a trusted peer that is not the pinned one', {
      peer: node,
      where,
      pinned: keyFingerprint(pin).slice(0, 16),
      offered: keyFingerprint(registry.publicKey).slice(0, 16),
    });
    this.#emit('security.key_mismatch', {
      peer: node,
      where,
      pinned_fingerprint: keyFingerprint(pin),
      offered_fingerprint: keyFingerprint(registry.publicKey),
    });
    return pin;
  }
}
