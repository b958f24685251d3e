import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DirErrorCode, dirError } from '../errors.js';
import { type Dialer, probeRegistryTransport, type TlsClientOptions } from './connection.js';

/** How a registry link is protected, for `pilotctl info` and logs. */
export type RegistryLinkMode = 'plaintext' | 'tls';

/** Where the pin of a TLS link came from. */
export type RegistryPinSource = 'given' | 'remembered' | 'first-use';

export type RegistryLinkOptions = {
  readonly host: string;
  readonly port: number;
  /**
   * true: TLS is required (`--registry-tls`); false: plaintext was asked for (a reference registry
   * without TLS); undefined: TLS when the registry offers it, plaintext only for a registry never
   * seen over TLS before.
   */
  readonly tls?: boolean;
  /** SHA-256 of the registry certificate's DER, hex (`--registry-fingerprint`); implies TLS. */
  readonly fingerprint?: string;
  /** The file of fingerprints seen before (trust on first use); undefined remembers nothing. */
  readonly knownFile?: string;
  readonly probeTimeoutMs?: number;
  /** Reach the registry through this (an HTTP CONNECT proxy) when probing it. */
  readonly dial?: Dialer;
  /** Told when the link falls back to plaintext or first trusts a certificate. */
  readonly onNotice?: (message: string, fields: Record<string, unknown>) => void;
};

/** A decided link: what to give the directory client, and what to report. */
export type RegistryLink = {
  readonly mode: RegistryLinkMode;
  readonly pinSource: RegistryPinSource | undefined;
  /** The pinned fingerprint (set once the first connection has seen it, for first use). */
  readonly fingerprint: string | undefined;
  readonly tls: TlsClientOptions | undefined;
};

type KnownEntry = { fingerprint: string; first_seen: string };

export function normaliseFingerprint(text: string): string {
  const hex = text.replace(/:/g, '').trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw dirError(
      DirErrorCode.BAD_REQUEST,
      'a registry fingerprint is 64 hex digits (SHA-256 of the certificate)',
    );
  return hex;
}

/**
 * The fingerprints of registries seen before, `known_registries.json` in PILOT_HOME, keyed by
 * `host:port`: the first certificate a registry shows is remembered, and a different one later is
 * refused (as SSH's known_hosts). Shared by the daemon and pilotctl.
 */
export class KnownRegistries {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  #read(): Record<string, KnownEntry> {
    if (!existsSync(this.path)) return {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      const registries = (parsed as { registries?: unknown } | null)?.registries;
      if (typeof registries !== 'object' || registries === null) return {};
      const out: Record<string, KnownEntry> = {};
      for (const [key, value] of Object.entries(registries as Record<string, unknown>)) {
        const entry = value as Partial<KnownEntry> | null;
        if (typeof entry?.fingerprint === 'string' && /^[0-9a-f]{64}$/.test(entry.fingerprint))
          out[key] = { fingerprint: entry.fingerprint, first_seen: String(entry.first_seen ?? '') };
      }
      return out;
    } catch {
      // A damaged file is not a reason to trust anything new: refuse to go on.
      throw dirError(
        DirErrorCode.PIN_MISMATCH,
        `${this.path} is damaged; repair or remove it to trust registries again`,
      );
    }
  }

  get(address: string): KnownEntry | undefined {
    return this.#read()[address];
  }

  remember(address: string, fingerprint: string): void {
    const all = this.#read();
    all[address] = { fingerprint, first_seen: new Date().toISOString() };
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify({ registries: all }, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, this.path);
  }
}

function addressOf(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Decides how to reach a registry: TLS pinned to a given fingerprint, TLS pinned to the one
 * remembered for it, TLS trusting the first certificate seen (then remembered), or plaintext where
 * asked for or where a never-seen registry does not speak TLS. Rejects with DIR_CONNECTION or
 * DIR_TIMEOUT when the registry cannot be reached to find out.
 */
export async function resolveRegistryLink(options: RegistryLinkOptions): Promise<RegistryLink> {
  const address = addressOf(options.host, options.port);
  const notice = options.onNotice ?? (() => {});
  if (options.fingerprint !== undefined && options.fingerprint !== '') {
    const pin = normaliseFingerprint(options.fingerprint);
    return { mode: 'tls', pinSource: 'given', fingerprint: pin, tls: { pin } };
  }
  if (options.tls === false)
    return { mode: 'plaintext', pinSource: undefined, fingerprint: undefined, tls: undefined };
  const known = options.knownFile === undefined ? undefined : new KnownRegistries(options.knownFile);
  const remembered = known?.get(address);
  if (remembered !== undefined) {
    const verify = (fingerprint: string): void => {
      if (fingerprint !== remembered.fingerprint)
        throw dirError(
          DirErrorCode.PIN_MISMATCH,
          `the registry at ${address} shows certificate ${fingerprint}, not ${remembered.fingerprint} ` +
            `it showed first (${remembered.first_seen}): someone may be in the middle. If its certificate ` +
            `really changed, pass --registry-fingerprint or remove its entry from ${known?.path}`,
        );
    };
    return { mode: 'tls', pinSource: 'remembered', fingerprint: remembered.fingerprint, tls: { verify } };
  }
  if (options.tls !== true) {
    const probe = await probeRegistryTransport(
      options.host,
      options.port,
      options.probeTimeoutMs ?? 3000,
      options.dial,
    );
    if (!probe.tls) {
      notice('the registry does not speak TLS: plaintext link (pass --registry-tls to require TLS)', {
        registry: address,
      });
      return { mode: 'plaintext', pinSource: undefined, fingerprint: undefined, tls: undefined };
    }
  }
  // First use: the first certificate seen is remembered; a later one that differs is refused.
  const link: { -readonly [K in keyof RegistryLink]: RegistryLink[K] } = {
    mode: 'tls',
    pinSource: 'first-use',
    fingerprint: undefined,
    tls: undefined,
  };
  link.tls = {
    verify: (fingerprint: string): void => {
      if (link.fingerprint === undefined) {
        const again = known?.get(address);
        if (again !== undefined && again.fingerprint !== fingerprint)
          throw dirError(
            DirErrorCode.PIN_MISMATCH,
            `the registry at ${address} shows certificate ${fingerprint}, not ${again.fingerprint} remembered in ${known?.path}`,
          );
        if (again === undefined) known?.remember(address, fingerprint);
        link.fingerprint = fingerprint;
        notice('trusting the registry certificate on first use', { registry: address, fingerprint });
        return;
      }
      if (fingerprint !== link.fingerprint)
        throw dirError(
          DirErrorCode.PIN_MISMATCH,
          `the registry at ${address} shows certificate ${fingerprint}, not ${link.fingerprint} it showed first: someone may be in the middle`,
        );
    },
  };
  return link;
}
