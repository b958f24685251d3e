import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseProxyUrl } from '@pilot/nat';
import { DAEMON_BUDGET_NAMES, type DaemonBudgetName } from './budgets.js';
import { DaemonErrorCode, daemonError } from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

/** Durations are milliseconds; on the command line they are written `500ms`, `5s`, `2m`, `1h` (bare numbers are seconds). */
export type Duration = number;

/** Everything the daemon is told at start (spec §8, reference §9.1), as parseDaemonArgs builds it. */
export interface DaemonOptions {
  /** PILOT_HOME (default ~/.pilot): identity.json, trust.json, inbox/, received/, pilot.log, pilot.pid. */
  home: string;
  /** Registry host:port. */
  registry: string;
  /**
   * `--registry-tls` ($PILOT_REGISTRY_TLS): true requires TLS, false asks for plaintext (a reference
   * registry without TLS); unset, TLS when the registry offers it (its certificate trusted on first
   * use and remembered in <home>/known_registries.json), plaintext for a registry never seen over TLS.
   */
  registryTls?: boolean;
  /** `--registry-fingerprint` ($PILOT_REGISTRY_FINGERPRINT): SHA-256 of the registry's certificate, hex; implies TLS. */
  registryFingerprint?: string;
  /** Beacon host:port (endpoint discovery, punching, relay). */
  beacon?: string;
  /**
   * Ours: STUN or beacon servers (`[stun:|beacon:]host:port`, repeatable `--reflector`; STUN when no
   * scheme) to classify our NAT against. With `beacon`, one reflector is enough (the beacon is the
   * other); without, two are needed. A known mapping lets easy + hard NAT pairs connect directly by
   * birthday probing instead of relaying. Default none.
   */
  reflectors?: string[];
  /**
   * `--transport auto|udp|tcp` ($PILOT_TRANSPORT), default auto: with `--wss`, relay over
   * WebSocket-over-TLS when UDP to the beacon gets no answer (auto) or always (tcp); udp never does.
   */
  transport?: 'auto' | 'udp' | 'tcp';
  /** `--wss host:port` ($PILOT_WSS): the rendezvous' relay over TLS (`pilot-rendezvous --wss-addr`). */
  wss?: string;
  /** `--proxy http://user:pass@host:port` ($HTTPS_PROXY): an HTTP CONNECT proxy for the TLS relay and the registry. */
  proxy?: string;
  /** UDP host:port to bind; default 0.0.0.0:0. */
  listen?: string;
  /** IPC socket path; default $PILOT_SOCKET, else config.json "socket", else <home>/pilot.sock (owner-only directory). */
  socket: string;
  /** Identity file; default <home>/identity.json. */
  identity?: string;
  hostname?: string;
  public?: boolean;
  /** Tunnel encryption (PILA + PILS), default true. */
  encrypt?: boolean;
  /**
   * Ours: larger datagrams (path MTU probing, RFC 8899) towards pilot-ts peers that negotiated the
   * `large-datagrams` tunnel capability; default true. Other peers always get the spec's size.
   */
  largeDatagrams?: boolean;
  /**
   * Ours: no packet CRC-32 inside PILS towards pilot-ts peers that negotiated the
   * `aead-checksum-free` tunnel capability (the AES-GCM tag authenticates every byte); default true.
   * Plaintext tunnels (`encrypt: false`) and other peers always get the spec's checksum.
   */
  aeadChecksumFree?: boolean;
  /**
   * Ours: forward-secret sessions with pilot-ts peers (ephemeral X25519 per session, per-direction
   * keys, rekeying), default true; false advertises no `forward-secrecy` and keeps the spec's static
   * keys with everyone. Reference peers always get the spec's PILA/PILS.
   */
  forwardSecrecy?: boolean;
  /** Ours: keep the tunnel's static X25519 key in this file (created 0600) instead of a fresh key per start. */
  tunnelKeyFile?: string;
  /** Ours: a forward-secret session is replaced after this long (default 2 m)… */
  rekeyAfter?: Duration;
  /** …or after this many bytes sealed under its key (default 1 GiB). */
  rekeyBytes?: number;
  owner?: string;
  /** Fixed public UDP endpoint host:port announced to the registry (skips discovery). */
  endpoint?: string;
  /** Connection keepalive interval (transport), default 15 s probes after idle, see @pilot/transport. */
  keepalive?: Duration;
  /** Connections that move no data for this long are closed; dead peers are found by the keepalive. */
  idleTimeout?: Duration;
  webhook?: string;
  trustAutoApprove?: boolean;
  noEcho?: boolean;
  noDataexchange?: boolean;
  noEventstream?: boolean;
  /** Ours: no stdio (port 1000) text service. */
  noStdio?: boolean;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  /** Ours: write logs to this file instead of stderr; `--log-file=` (empty) means <home>/pilot.log. */
  logFile?: string;
  /** Registry heartbeat interval, default 60 s. */
  heartbeat?: Duration;
  /** How often relayed handshakes are polled from the registry, default 5 s. */
  handshakePoll?: Duration;
  synRateLimit?: number;
  maxConnsPerPort?: number;
  maxConnsTotal?: number;
  timeWait?: Duration;
  /** How long a Dial may take (tunnel + handshake), default 20 s. */
  dialTimeout?: Duration;
  /** Ours: serve Prometheus `GET /metrics` on this `host:port` (`:port` is 127.0.0.1). Default off. */
  metrics?: string;
  /** `--budget-<name> N`: the budgets of budgets.ts that were given (the rest keep their defaults). */
  budgets?: Partial<Record<DaemonBudgetName, number>>;
}

type Kind = 'string' | 'boolean' | 'duration' | 'integer' | 'list';

const FLAGS: Readonly<Record<string, readonly [keyof DaemonOptions, Kind]>> = {
  home: ['home', 'string'],
  registry: ['registry', 'string'],
  'registry-tls': ['registryTls', 'boolean'],
  'registry-fingerprint': ['registryFingerprint', 'string'],
  beacon: ['beacon', 'string'],
  reflector: ['reflectors', 'list'],
  listen: ['listen', 'string'],
  transport: ['transport', 'string'],
  wss: ['wss', 'string'],
  proxy: ['proxy', 'string'],
  socket: ['socket', 'string'],
  identity: ['identity', 'string'],
  hostname: ['hostname', 'string'],
  public: ['public', 'boolean'],
  encrypt: ['encrypt', 'boolean'],
  'large-datagrams': ['largeDatagrams', 'boolean'],
  'aead-checksum-free': ['aeadChecksumFree', 'boolean'],
  'forward-secrecy': ['forwardSecrecy', 'boolean'],
  'tunnel-key-file': ['tunnelKeyFile', 'string'],
  'rekey-after': ['rekeyAfter', 'duration'],
  'rekey-bytes': ['rekeyBytes', 'integer'],
  owner: ['owner', 'string'],
  endpoint: ['endpoint', 'string'],
  keepalive: ['keepalive', 'duration'],
  'idle-timeout': ['idleTimeout', 'duration'],
  webhook: ['webhook', 'string'],
  'trust-auto-approve': ['trustAutoApprove', 'boolean'],
  'no-echo': ['noEcho', 'boolean'],
  'no-dataexchange': ['noDataexchange', 'boolean'],
  'no-eventstream': ['noEventstream', 'boolean'],
  'no-stdio': ['noStdio', 'boolean'],
  'log-level': ['logLevel', 'string'],
  'log-format': ['logFormat', 'string'],
  'log-file': ['logFile', 'string'],
  heartbeat: ['heartbeat', 'duration'],
  'handshake-poll': ['handshakePoll', 'duration'],
  'syn-rate-limit': ['synRateLimit', 'integer'],
  'max-conns-per-port': ['maxConnsPerPort', 'integer'],
  'max-conns-total': ['maxConnsTotal', 'integer'],
  'time-wait': ['timeWait', 'duration'],
  'dial-timeout': ['dialTimeout', 'duration'],
  metrics: ['metrics', 'string'],
};

/** Reference flags we accept and ignore, so that scripts written for it keep working. */
const IGNORED: Readonly<Record<string, Kind>> = {
  email: 'string',
  'admin-token': 'string',
  networks: 'string',
  'no-tasksubmit': 'boolean',
  foreground: 'boolean',
};

function isBudgetFlag(name: string): boolean {
  return name.startsWith('budget-') && (DAEMON_BUDGET_NAMES as readonly string[]).includes(name.slice(7));
}

function bad(message: string): never {
  throw daemonError(DaemonErrorCode.BAD_OPTION, message);
}

/** `500ms`, `5s`, `2m`, `1h`, `1m30s`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): Duration {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = trimmed;
  if (rest === '') bad('empty duration');
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (match === null) bad(`bad duration "${text}" (write it like 500ms, 5s, 2m)`);
    total += Number(match[1]) * (units[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

function toBoolean(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (['true', '1', 'yes', 'on', ''].includes(lower)) return true;
    if (['false', '0', 'no', 'off'].includes(lower)) return false;
  }
  return bad(`--${name} takes true or false, not ${JSON.stringify(value)}`);
}

function convert(name: string, kind: Kind, value: unknown): unknown {
  switch (kind) {
    case 'boolean':
      return toBoolean(name, value);
    case 'duration':
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
      if (typeof value === 'string') return parseDuration(value);
      return bad(`--${name} takes a duration like 5s`);
    case 'list': {
      const items = Array.isArray(value) ? value : [value];
      const out: string[] = [];
      for (const item of items) {
        if (typeof item !== 'string' || item === '') bad(`--${name} takes a value`);
        out.push(item);
      }
      return out;
    }
    case 'integer': {
      const number =
        typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (!Number.isInteger(number) || number < 0) bad(`--${name} takes a whole number`);
      return number;
    }
    default:
      if (typeof value !== 'string' && typeof value !== 'number') bad(`--${name} takes a value`);
      return String(value);
  }
}

function readJsonObject(path: string, what: string, optional: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return bad(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    return bad(`${what} ${path} is not a JSON object: ${(error as Error).message}`);
  }
}

function normaliseKey(key: string): string {
  return key.replace(/^-+/, '').replace(/_/g, '-');
}

/** Reads flags as `--flag value`, `--flag=value`, `-flag value`; booleans may stand alone. */
function readArgv(argv: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') bad(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = normaliseKey(eq >= 0 ? arg.slice(0, eq) : arg);
    const kind = name === 'config' || isBudgetFlag(name) ? 'string' : (FLAGS[name]?.[1] ?? IGNORED[name]);
    if (kind === undefined) bad(`unknown flag --${name}`);
    if (kind === 'list') {
      // Repeatable: every occurrence adds one value.
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) bad(`--${name} needs a value`);
      out[name] = [...((out[name] as string[] | undefined) ?? []), value];
    } else if (eq >= 0) {
      out[name] = arg.slice(eq + 1);
    } else if (kind === 'boolean') {
      const next = argv[i + 1];
      if (next !== undefined && /^(true|false)$/i.test(next)) {
        out[name] = next;
        i++;
      } else out[name] = true;
    } else {
      const next = argv[i + 1];
      if (next === undefined) bad(`--${name} needs a value`);
      out[name] = next;
      i++;
    }
  }
  return out;
}

/**
 * Parses the daemon's command line (spec §8 / reference §9.1 flags, single or double dash, `--no-x`
 * switches) over, in decreasing priority, the `--config file.json` keys (flag names), the environment
 * (PILOT_HOME, PILOT_SOCKET) and `<home>/config.json` (pilotctl's keys: registry, beacon, socket,
 * hostname, webhook). Throws DAEMON_BAD_OPTION.
 */
export function parseDaemonArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const flags = readArgv(argv);
  const configFile =
    typeof flags.config === 'string' ? readJsonObject(resolve(flags.config), 'config file', false) : {};
  const fromConfig: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configFile)) fromConfig[normaliseKey(key)] = value;
  const homeText =
    (flags.home as string | undefined) ??
    (fromConfig.home as string | undefined) ??
    (env.PILOT_HOME !== undefined && env.PILOT_HOME !== '' ? env.PILOT_HOME : undefined) ??
    join(homedir(), '.pilot');
  const home = resolve(String(homeText));
  const homeConfig = readJsonObject(join(home, 'config.json'), 'config', true);
  const fromHome: Record<string, unknown> = {};
  for (const key of ['registry', 'beacon', 'socket', 'hostname', 'webhook', 'public', 'owner']) {
    if (homeConfig[key] !== undefined && homeConfig[key] !== '') fromHome[key] = homeConfig[key];
  }
  const fromEnv: Record<string, unknown> = {};
  if (env.PILOT_SOCKET !== undefined && env.PILOT_SOCKET !== '') fromEnv.socket = env.PILOT_SOCKET;
  if (env.PILOT_REGISTRY_TLS !== undefined && env.PILOT_REGISTRY_TLS !== '')
    fromEnv['registry-tls'] = env.PILOT_REGISTRY_TLS;
  if (env.PILOT_REGISTRY_FINGERPRINT !== undefined && env.PILOT_REGISTRY_FINGERPRINT !== '')
    fromEnv['registry-fingerprint'] = env.PILOT_REGISTRY_FINGERPRINT;
  if (env.PILOT_TRANSPORT !== undefined && env.PILOT_TRANSPORT !== '')
    fromEnv.transport = env.PILOT_TRANSPORT;
  if (env.PILOT_WSS !== undefined && env.PILOT_WSS !== '') fromEnv.wss = env.PILOT_WSS;
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  if (httpsProxy !== undefined && httpsProxy !== '') fromEnv.proxy = httpsProxy;
  const merged: Record<string, unknown> = { ...fromHome, ...fromEnv, ...fromConfig, ...flags };
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(merged)) {
    if (name === 'config' || name === 'home') continue;
    if (isBudgetFlag(name)) {
      const number = typeof value === 'number' ? value : Number(value);
      if (!Number.isInteger(number) || number <= 0) bad(`--${name} takes a positive whole number`);
      options.budgets = {
        ...(options.budgets as object | undefined),
        [name.slice('budget-'.length)]: number,
      };
      continue;
    }
    const spec = FLAGS[name];
    if (spec === undefined) {
      if (IGNORED[name] !== undefined || name in fromConfig || name in fromHome) continue;
      bad(`unknown option ${name}`);
    }
    options[spec[0]] = convert(name, spec[1], value);
  }
  const level = options.logLevel;
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level as string))
    bad('--log-level is debug, info, warn or error');
  const format = options.logFormat;
  if (format !== undefined && !['text', 'json'].includes(format as string))
    bad('--log-format is text or json');
  for (const reflector of (options.reflectors as string[] | undefined) ?? []) parseReflector(reflector);
  const transport = options.transport;
  if (transport !== undefined && !['auto', 'udp', 'tcp'].includes(transport as string))
    bad('--transport is auto, udp or tcp');
  if (typeof options.wss === 'string' && options.wss !== '') splitHostPort(options.wss, '--wss');
  if (typeof options.proxy === 'string' && options.proxy !== '') {
    try {
      parseProxyUrl(options.proxy);
    } catch (error) {
      bad(`--proxy: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (transport === 'tcp' && (options.wss === undefined || options.wss === ''))
    bad('--transport tcp needs --wss host:port (the rendezvous relay over TLS)');
  const fingerprint = options.registryFingerprint as string | undefined;
  if (fingerprint !== undefined && fingerprint !== '') {
    if (!/^[0-9a-f]{64}$/.test(fingerprint.replace(/:/g, '').toLowerCase()))
      bad('--registry-fingerprint is the SHA-256 of the registry certificate: 64 hex digits');
    if (options.registryTls === false)
      bad('--registry-fingerprint needs TLS, but --registry-tls=false was given');
  }
  // `--log-file=` (empty) is the detached daemon's usual place.
  if (options.logFile === '') options.logFile = join(home, 'pilot.log');
  return {
    ...(options as Partial<DaemonOptions>),
    home,
    registry: (options.registry as string | undefined) ?? '127.0.0.1:9000',
    // In PILOT_HOME (0700), not /tmp where another user could create it first.
    socket: resolve((options.socket as string | undefined) ?? join(home, 'pilot.sock')),
  };
}

/**
 * A host and a port as a flag or the config spells them (`--registry`, `--beacon`, `--listen`,
 * `--endpoint`, `--metrics`, `--wss`, `--reflector`): the host may be a name, and nothing here
 * resolves it. Not a `UdpAddress` (`@pilot/wire`), which is an IP literal a socket reported or
 * sends to; the daemon turns one into the other only where a UDP peer is meant (the beacon).
 */
export interface HostAndPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, `[v6]:port` or `:port` → parts; throws DAEMON_BAD_OPTION. */
export function splitHostPort(text: string, what: string, defaultHost = '127.0.0.1'): HostAndPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  if (match === null) bad(`${what} must be host:port, not ${JSON.stringify(text)}`);
  const port = Number(match[3]);
  if (port > 65_535) bad(`${what} port ${port} is out of range`);
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? defaultHost : host, port };
}

/** A server to classify our NAT against (`--reflector`). */
export interface ReflectorAddress extends HostAndPort {
  readonly protocol: 'stun' | 'beacon';
}

/** `[stun:|beacon:]host:port` (STUN when no scheme) → parts; throws DAEMON_BAD_OPTION. */
export function parseReflector(text: string): ReflectorAddress {
  const match = /^(stun|beacon):(?!\d+$)(.*)$/i.exec(text.trim());
  const protocol = match === null ? 'stun' : ((match[1] as string).toLowerCase() as 'stun' | 'beacon');
  const { host, port } = splitHostPort(match === null ? text : (match[2] as string), '--reflector');
  if (port === 0) bad('--reflector needs a port other than 0');
  return { protocol, host, port };
}
