import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isPilotError } from '@pilot/wire';
import { BUDGET_NAMES, RENDEZVOUS_BUDGETS, type RendezvousBudgets } from './budgets.js';
import { RendezvousErrorCode, rendezvousError } from './errors.js';
import { LogFormat, LogLevel } from './logger.js';
import { isPostgresUrl } from './store.js';

/** A listening address: `host:port`, `:port` (every IPv4 interface) or `[v6]:port`. */
export type ListenAddress = { readonly host: string; readonly port: number };

/** A peer beacon, and the key its sync is authenticated with (`--beacon-sync-keys`), if any. */
export type BeaconPeerConfig = ListenAddress & { readonly key?: Uint8Array };

export type RendezvousConfig = {
  readonly registryAddr: ListenAddress;
  readonly beaconAddr: ListenAddress;
  /** Whether `--beacon-addr` was given (on the command line or in the config file). */
  readonly beaconAddrGiven: boolean;
  /**
   * A second beacon socket (discover + STUN Binding), `--stun-addr`: a second reflector at another
   * port, so that nodes can classify their NAT (easy/hard mapping) against two addresses. On by
   * default, on the beacon's host at the beacon's port + 1 (port 0 when the beacon's is 0); the
   * registry tells daemons its port (`reflector_port`, the `reflector` extension). `off` turns it off.
   */
  readonly stunAddr: ListenAddress | undefined;
  /** Whether the STUN address is the default: when its port is taken, the OS chooses another. */
  readonly stunAddrDefault: boolean;
  /**
   * `--wss-addr`: the relay over WebSocket-over-TLS (same certificate as the registry), for nodes
   * whose UDP is blocked (`pilot-daemon --transport auto|tcp`). On by default with TLS, on the
   * registry's host at port 9443 (port 0 when the registry's is 0); the registry tells daemons its
   * port (`wss_port`, the `wss` extension). `off` turns it off.
   */
  readonly wssAddr: ListenAddress | undefined;
  /** Whether the WSS address is the default: when its port is taken, the OS chooses another. */
  readonly wssAddrDefault: boolean;
  /**
   * `--beacon-peers`: the beacons of the other instances of this network (IP:port each). Beacons
   * tell their peers which nodes they hold, and forward a relay for a node held by a peer to it, so
   * two daemons on different instances can still be relayed. A peer given a key in
   * `--beacon-sync-keys` authenticates its sync (HMAC, replay-protected); one without a key is
   * believed by source address, which can be spoofed (reference beacons).
   */
  readonly beaconPeers: readonly BeaconPeerConfig[];
  /** How often the beacon tells its peers its nodes, ms (`--beacon-sync-ms`, default 10,000). */
  readonly beaconSyncMs: number;
  /** How the beacon answers unverified sources that send short requests (see @pilot/nat). */
  readonly beaconAmplification: 'strict' | 'compatible';
  /** Where `GET /healthz` is served; undefined: no HTTP server. */
  readonly http: ListenAddress | undefined;
  /** SQLite file of the directory, or a `postgres://` URL. */
  readonly store: string;
  /**
   * TLS (on unless `--tls=false`): the operator's key and certificate files (PEM), or, without
   * them, a self-signed pair kept beside the store (`registry-tls.crt`/`.key`, made on first start)
   * so that its fingerprint, which clients pin, survives restarts. An in-memory store gets a new
   * pair each start.
   */
  readonly tls: TlsConfig | undefined;
  /** Hang up on plaintext clients (reference daemons without `-registry-tls`). Default false. */
  readonly requireTls: boolean;
  readonly adminToken: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Every budget (budgets.ts), defaults overridden by `--budget-<name>`. */
  readonly budgets: RendezvousBudgets;
};

export type TlsConfig =
  | { readonly source: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly source: 'store'; readonly certFile: string; readonly keyFile: string }
  | { readonly source: 'ephemeral' };

export type ParsedCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'run'; readonly config: RendezvousConfig };

type FlagKind = 'string' | 'boolean';

/** The flags, as the reference names them; a `--config` file uses the same names as keys. */
export const FLAGS: Readonly<Record<string, { readonly kind: FlagKind; readonly help: string }>> = {
  'registry-addr': { kind: 'string', help: 'TCP address of the registry (default ":9000", every interface)' },
  'beacon-addr': {
    kind: 'string',
    help: 'UDP address of the beacon (default ":9001", every interface)',
  },
  'stun-addr': {
    kind: 'string',
    help: 'UDP address of a second beacon socket (discover + STUN) that daemons classify their NAT against; the registry advertises its port (default: the beacon host, its port + 1; "off": none)',
  },
  'wss-addr': {
    kind: 'string',
    help: 'TCP address of the relay over WebSocket-over-TLS for nodes without UDP, e.g. :443; the registry advertises its port (default: the registry host, port 9443, with TLS only; "off": none)',
  },
  'beacon-peers': {
    kind: 'string',
    help: 'beacons of the other instances of this network, ip:port,ip:port: relays reach nodes held by a peer',
  },
  'beacon-sync-keys': {
    kind: 'string',
    help: 'file of "ip:port hexkey" lines ("*" for every peer): the key each peer beacon shares with this one; its sync must carry a valid HMAC (default: none, sync believed by source address)',
  },
  'beacon-sync-ms': {
    kind: 'string',
    help: 'how often the beacon tells its peers its nodes, ms (default 10000)',
  },
  'beacon-amplification': {
    kind: 'string',
    help: 'compatible | strict: answer short reference/bare-STUN requests within a byte budget, or never send more than a request had (default compatible)',
  },
  http: { kind: 'string', help: 'TCP address of the health endpoint GET /healthz (default: off)' },
  store: {
    kind: 'string',
    help: 'SQLite file of the directory (default ~/.pilot/registry.db; ":memory:" keeps nothing), or postgres://user:pass@host/db: a PostgreSQL database several instances share',
  },
  tls: {
    kind: 'boolean',
    help: 'serve the registry over TLS (default true; plaintext clients still served on the same port; --tls=false: plaintext only)',
  },
  'tls-cert': {
    kind: 'string',
    help: 'TLS certificate, PEM file (default: a self-signed one kept beside the store)',
  },
  'tls-key': { kind: 'string', help: 'TLS private key, PEM file' },
  'require-tls': { kind: 'boolean', help: 'refuse plaintext registry clients (default false)' },
  'admin-token': {
    kind: 'string',
    help: 'token that acts for any node (prefer the config file: flags show in ps)',
  },
  'log-level': { kind: 'string', help: 'debug | info | warn | error (default info)' },
  'log-format': { kind: 'string', help: 'text | json (default text)' },
  config: {
    kind: 'string',
    help: 'JSON file whose keys are these flag names; flags given on the command line win',
  },
  help: { kind: 'boolean', help: 'print this help and exit' },
  // The budgets of budgets.ts, one flag each.
  ...Object.fromEntries(
    BUDGET_NAMES.map((name) => [
      `budget-${name}`,
      {
        kind: 'string',
        help: `${RENDEZVOUS_BUDGETS[name].help} (default ${RENDEZVOUS_BUDGETS[name].default})`,
      },
    ]),
  ),
};

export const USAGE: string = [
  'usage: pilot-rendezvous [flags]',
  '',
  'The Pilot Protocol rendezvous server: the registry (directory) agents register with and look',
  'each other up in, over TCP or TLS, stored in SQLite, and the beacon (UDP endpoint discovery,',
  'hole punching, relay; STUN Binding on the same port). SIGINT/SIGTERM stop both cleanly.',
  '',
  'flags (--name value, --name=value, or -name value):',
  ...Object.entries(FLAGS).map(([name, flag]) => `  --${name.padEnd(14)} ${flag.help}`),
  '',
].join('\n');

type RawValues = Map<string, string | boolean>;

function badFlag(message: string): never {
  throw rendezvousError(RendezvousErrorCode.BAD_FLAG, message);
}

/** Reads `argv` (without node and the script) into flag values; nothing is validated yet. */
function readArgv(argv: readonly string[]): RawValues {
  const values: RawValues = new Map();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const match = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(token);
    if (match === null) badFlag(`unexpected argument "${token}" (flags start with --)`);
    const name = match[1]!;
    const inline = match[2];
    const flag = FLAGS[name];
    if (flag === undefined) badFlag(`unknown flag --${name}`);
    if (flag.kind === 'boolean') {
      if (inline === undefined) values.set(name, true);
      else if (inline === 'true' || inline === 'false') values.set(name, inline === 'true');
      else badFlag(`--${name} takes true or false, not "${inline}"`);
      continue;
    }
    if (inline !== undefined) {
      values.set(name, inline);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || /^--?[a-z]/.test(next)) badFlag(`--${name} needs a value`);
    values.set(name, next);
    i += 1;
  }
  return values;
}

/** Reads a `--config` file: a JSON object keyed by flag names (`registry-addr` or `registry_addr`). */
export function readConfigFile(path: string): RawValues {
  const fail = (message: string, cause?: unknown): Error =>
    rendezvousError(RendezvousErrorCode.BAD_CONFIG, `config file ${path}: ${message}`, cause);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw fail('not valid JSON', error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail('must hold a JSON object');
  const values: RawValues = new Map();
  for (const [rawKey, item] of Object.entries(value as Record<string, unknown>)) {
    const key = rawKey.replace(/_/g, '-');
    const flag = FLAGS[key];
    if (flag === undefined || key === 'config' || key === 'help') throw fail(`unknown key "${rawKey}"`);
    if (flag.kind === 'boolean' ? typeof item !== 'boolean' : typeof item !== 'string') {
      throw fail(`"${rawKey}" must be a ${flag.kind}`);
    }
    values.set(key, item as string | boolean);
  }
  return values;
}

/** Parses `host:port`, `:port` or `[v6]:port`. */
export function parseListenAddress(text: string, flag: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65_535) {
    badFlag(`--${flag} must be host:port, :port or [ipv6]:port (got "${text}")`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** `--stun-addr`: given, `off`, or by default beside the beacon (the next port up). */
function stunAddress(
  text: string | undefined,
  beacon: ListenAddress,
): { stunAddr: ListenAddress | undefined; stunAddrDefault: boolean } {
  if (text === 'off' || text === 'false' || text === 'none')
    return { stunAddr: undefined, stunAddrDefault: false };
  if (text !== undefined) return { stunAddr: parseListenAddress(text, 'stun-addr'), stunAddrDefault: false };
  const port = beacon.port === 0 || beacon.port === 65_535 ? 0 : beacon.port + 1;
  return { stunAddr: { host: beacon.host, port }, stunAddrDefault: true };
}

/** The TLS relay's default port (a fixed one, so that firewalls can be opened for it). */
export const DEFAULT_WSS_PORT = 9443;

/** `--wss-addr`: given, `off`, or by default on the registry's host at port 9443 (only with TLS). */
function wssAddress(
  text: string | undefined,
  registry: ListenAddress,
  tls: boolean,
): { wssAddr: ListenAddress | undefined; wssAddrDefault: boolean } {
  if (text === 'off' || text === 'false' || text === 'none')
    return { wssAddr: undefined, wssAddrDefault: false };
  if (text !== undefined) return { wssAddr: parseListenAddress(text, 'wss-addr'), wssAddrDefault: false };
  if (!tls) return { wssAddr: undefined, wssAddrDefault: false };
  return {
    wssAddr: { host: registry.host, port: registry.port === 0 ? 0 : DEFAULT_WSS_PORT },
    wssAddrDefault: true,
  };
}

function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

function oneOf<T extends string>(value: string, allowed: Readonly<Record<string, T>>, flag: string): T {
  const options = Object.values(allowed);
  if (!(options as string[]).includes(value))
    badFlag(`--${flag} must be one of ${options.join(', ')} (got "${value}")`);
  return value as T;
}

/**
 * The command line (and the `--config` file it names) as a configuration. Flags on the command line
 * override the file, which overrides the defaults. Throws RDV_BAD_FLAG or RDV_BAD_CONFIG.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const flags = readArgv(argv);
  if (flags.get('help') === true) return { kind: 'help' };
  const configPath = flags.get('config');
  const values: RawValues =
    typeof configPath === 'string' ? new Map([...readConfigFile(expandHome(configPath)), ...flags]) : flags;
  const str = (name: string): string | undefined => {
    const value = values.get(name);
    return typeof value === 'string' ? value : undefined;
  };

  const certFile = str('tls-cert');
  const keyFile = str('tls-key');
  const store = str('store');
  if (store === '') badFlag('--store must not be empty');
  const storePath =
    store === undefined
      ? join(homedir(), '.pilot', 'registry.db')
      : // SQLite's in-memory database (tests, throwaway instances), not a file named ":memory:";
        // a PostgreSQL URL as given.
        store === ':memory:' || isPostgresUrl(store)
        ? store
        : resolve(expandHome(store));
  // The self-signed TLS pair lives beside a SQLite file; with PostgreSQL, in ~/.pilot (per instance).
  const tlsDir = isPostgresUrl(storePath) ? join(homedir(), '.pilot') : dirname(storePath);
  let tls: RendezvousConfig['tls'];
  const requireTls = values.get('require-tls') === true;
  if (values.get('tls') !== false) {
    if ((certFile === undefined) !== (keyFile === undefined)) badFlag('--tls-cert and --tls-key go together');
    if (certFile !== undefined && keyFile !== undefined)
      tls = {
        source: 'files',
        certFile: resolve(expandHome(certFile)),
        keyFile: resolve(expandHome(keyFile)),
      };
    else if (storePath === ':memory:') tls = { source: 'ephemeral' };
    else
      tls = {
        source: 'store',
        certFile: join(tlsDir, 'registry-tls.crt'),
        keyFile: join(tlsDir, 'registry-tls.key'),
      };
  } else if (str('wss-addr') !== undefined && !['off', 'false', 'none'].includes(str('wss-addr') ?? '')) {
    badFlag('--wss-addr serves TLS: it contradicts --tls=false');
  } else if (certFile !== undefined || keyFile !== undefined || requireTls) {
    // Refused rather than ignored: serving plain TCP while the operator believes it is TLS is worse.
    badFlag('--tls-cert, --tls-key and --require-tls contradict --tls=false');
  }
  const adminToken = str('admin-token');
  if (adminToken !== undefined && adminToken.length < 8)
    badFlag('--admin-token must be at least 8 characters');

  return {
    kind: 'run',
    config: {
      registryAddr: parseListenAddress(str('registry-addr') ?? ':9000', 'registry-addr'),
      beaconAddr: parseListenAddress(str('beacon-addr') ?? ':9001', 'beacon-addr'),
      beaconAddrGiven: values.has('beacon-addr'),
      ...stunAddress(str('stun-addr'), parseListenAddress(str('beacon-addr') ?? ':9001', 'beacon-addr')),
      ...wssAddress(
        str('wss-addr'),
        parseListenAddress(str('registry-addr') ?? ':9000', 'registry-addr'),
        tls !== undefined,
      ),
      beaconPeers: withSyncKeys(
        (str('beacon-peers') ?? '')
          .split(',')
          .filter((entry) => entry.trim() !== '')
          .map((entry) => parseListenAddress(entry.trim(), 'beacon-peers')),
        str('beacon-sync-keys'),
      ),
      beaconSyncMs: (() => {
        const ms = Number(str('beacon-sync-ms') ?? 10_000);
        if (!Number.isInteger(ms) || ms < 100 || ms > 3_600_000)
          badFlag('--beacon-sync-ms must be an integer between 100 and 3600000');
        return ms;
      })(),
      beaconAmplification: oneOf(
        str('beacon-amplification') ?? 'compatible',
        { STRICT: 'strict', COMPATIBLE: 'compatible' } as const,
        'beacon-amplification',
      ),
      http: str('http') === undefined ? undefined : parseListenAddress(str('http') ?? '', 'http'),
      store: storePath,
      tls,
      requireTls,
      adminToken,
      logLevel: oneOf(str('log-level') ?? 'info', LogLevel, 'log-level'),
      logFormat: oneOf(str('log-format') ?? 'text', LogFormat, 'log-format'),
      budgets: Object.fromEntries(
        BUDGET_NAMES.map((name) => {
          const text = str(`budget-${name}`);
          if (text === undefined) return [name, RENDEZVOUS_BUDGETS[name].default];
          const value = Number(text);
          if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
            badFlag(`--budget-${name} must be a positive number (got "${text}")`);
          return [name, value];
        }),
      ) as unknown as RendezvousBudgets,
    },
  };
}

/** Shortest sync key (bytes), as @pilot/nat requires. */
const SYNC_KEY_MIN_BYTES = 16;

/**
 * The peers with their sync keys from `file` (`--beacon-sync-keys`): one `ip:port hexkey` line per
 * peer, or `* hexkey` for every peer without a line of its own; `#` starts a comment. A line naming
 * an address that is not in `--beacon-peers` is refused (a typo would otherwise leave that peer
 * unauthenticated).
 */
export function withSyncKeys(
  peers: readonly ListenAddress[],
  file: string | undefined,
): readonly BeaconPeerConfig[] {
  if (file === undefined) return peers;
  const path = resolve(expandHome(file));
  const fail = (message: string, cause?: unknown): never => {
    throw rendezvousError(RendezvousErrorCode.BAD_CONFIG, `--beacon-sync-keys ${path}: ${message}`, cause);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, error);
  }
  if (peers.length === 0) fail('given without --beacon-peers');
  const keys = new Map<string, Uint8Array>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [who, hex, extra] = line.split(/\s+/);
    if (who === undefined || hex === undefined || extra !== undefined)
      fail(`line ${index + 1}: expected "ip:port hexkey" or "* hexkey"`);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex ?? '') || (hex ?? '').length < 2 * SYNC_KEY_MIN_BYTES)
      fail(`line ${index + 1}: the key must be hex, at least ${SYNC_KEY_MIN_BYTES} bytes`);
    let id = '*';
    if (who !== '*') {
      const address = parseListenAddress(who ?? '', 'beacon-sync-keys');
      id = `${address.host}|${address.port}`;
      if (!peers.some((peer) => `${peer.host}|${peer.port}` === id))
        fail(`line ${index + 1}: ${who} is not one of --beacon-peers`);
    }
    if (keys.has(id)) fail(`line ${index + 1}: ${who} has a key already`);
    keys.set(id, new Uint8Array(Buffer.from(hex ?? '', 'hex')));
  }
  return peers.map((peer) => {
    const key = keys.get(`${peer.host}|${peer.port}`) ?? keys.get('*');
    return key === undefined ? peer : { ...peer, key };
  });
}

/** Whether an error is one of the configuration errors (exit status 2). */
export function isUsageError(error: unknown): boolean {
  return (
    isPilotError(error, RendezvousErrorCode.BAD_FLAG) || isPilotError(error, RendezvousErrorCode.BAD_CONFIG)
  );
}
