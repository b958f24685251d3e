import type { Identity, X25519KeyPair } from '@pilot/crypto';
import type { HttpProxy, NatMapping, ReflectorServer, TlsRelayTlsOptions } from '@pilot/nat';
import type { TunnelCapabilityName, UdpAddress } from '@pilot/wire';
import type { PunchBudgetOptions } from './punch-budget.js';
import type { RekeyBudget } from './session-crypto.js';

/**
 * Why the tunnel asks for a key: a frame no one has authenticated yet (a PILA) came from `source`
 * (its IP address, or `relay` for one the beacon relayed). Absent when we need the key ourselves
 * (we are setting a tunnel up). The directory may budget such lookups per source.
 */
export interface KeyLookupCause {
  readonly source: string;
}

/** What the tunnel layer needs from the registry. */
export interface TunnelDirectory {
  /** Ed25519 public key the registry holds for a node (undefined when unknown). Cached by the manager. */
  publicKey(nodeId: number, cause?: KeyLookupCause): Promise<Uint8Array | undefined>;
  /** Where a node is reachable, as the registry tells (resolve): its observed endpoint and LAN addresses. */
  resolve(
    nodeId: number,
  ): Promise<{ endpoint?: UdpAddress | undefined; lanAddrs?: readonly UdpAddress[] | undefined }>;
  /**
   * Birthday intents (the registry's `birthday` extension). With a node: declares that we will
   * birthday-probe it and returns its IPs; without: the IPs of the nodes that declared they will
   * probe us. Birthday bursts go only towards IPs returned here; without this method (or with a
   * registry that does not offer it: return []) there is no birthday probing.
   */
  birthday?(nodeId?: number): Promise<readonly string[]>;
  /**
   * The tunnel capabilities the registry lists for a node (our registry's `tunnel-capabilities`;
   * undefined for a reference registry or node), as the last `publicKey(nodeId)` lookup showed.
   * A node listed here is pilot-ts: our PILAs to it carry our PILX.
   */
  capabilities?(nodeId: number): readonly string[] | undefined;
}

export type TunnelLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Something the daemon may log, forward to its webhook or count: `tunnel.established`,
 * `tunnel.rekeyed`, `tunnel.relay_activated`, `tunnel.direct_restored`, `tunnel.moved`,
 * `security.nonce_replay`, `security.bad_key`, `security.bad_signature`.
 */
export interface TunnelEvent {
  readonly type: string;
  readonly node_id?: number;
  readonly [key: string]: unknown;
}

export interface TunnelManagerOptions {
  identity: Identity;
  directory: TunnelDirectory;
  /** The beacon (punch requests, relay, keepalive discover). Without it only direct paths are tried. */
  beacon?: UdpAddress | undefined;
  /**
   * More beacons of the same network (`--beacon a,b`: rendezvous instances whose beacons are
   * peers), moved to in order when a discover to the one in use gets no answer.
   */
  fallbackBeacons?: readonly UdpAddress[] | undefined;
  /** Default true (PILA + PILS); false sends and accepts PILT plaintext only. */
  encrypt?: boolean | undefined;
  /** What we advertise to pilot-ts peers in our PILX; default `DEFAULT_TUNNEL_CAPABILITIES`. */
  capabilities?: readonly TunnelCapabilityName[] | undefined;
  /**
   * Default true: forward-secret sessions with pilot-ts peers that advertise them. False leaves
   * `forward-secrecy` out of what we advertise (the spec's static keys with everyone).
   */
  forwardSecrecy?: boolean | undefined;
  /** Our static X25519 key (the one our PILA carries); a fresh one by default, as the reference does. */
  x25519?: X25519KeyPair | undefined;
  /** When a forward-secret session is replaced (bytes sealed, age) and how long the old one is kept. */
  rekey?: Partial<RekeyBudget> | undefined;
  /** Default 20 000 ms (well under the ~30 s UDP mapping lifetime of common NATs). */
  keepaliveMs?: number | undefined;
  /** How long to try direct (+ birthday) before relaying; default 6000 ms. */
  directTimeoutMs?: number | undefined;
  /** How often a relayed tunnel looks for a direct path again; default 20 000 ms. */
  directRetryMs?: number | undefined;
  /** Our NAT's mapping when known (decides the birthday role); otherwise learned from `reflectors`. */
  natMapping?: NatMapping | undefined;
  /** Two reflectors (beacon or STUN) to classify our NAT from the tunnel socket when started. */
  reflectors?: readonly [ReflectorServer, ReflectorServer] | undefined;
  /** Sockets the hard side opens for birthday probing; default 256. 0 disables birthday probing. */
  birthdaySockets?: number | undefined;
  /**
   * The rendezvous' relay over WebSocket-over-TLS (`pilot-rendezvous --wss-addr`), for when UDP is
   * blocked: its address, the TLS pin (the registry's certificate) and an optional HTTP proxy.
   */
  tlsRelay?: TlsRelayOptions | undefined;
  /**
   * With `tlsRelay`: `auto` (default) relays over TLS once a UDP discover to the beacon goes
   * unanswered and back over UDP when one is answered; `tcp` relays every peer over TLS from the
   * start; `udp` never uses it.
   */
  transportMode?: 'auto' | 'udp' | 'tcp' | undefined;
  /** What punch commands may make us send, and punch/birthday attempts at once (punch-budget.ts). */
  punchBudget?: PunchBudgetOptions | undefined;
  log?: ((level: TunnelLogLevel, message: string, fields?: Record<string, unknown>) => void) | undefined;
  onEvent?: ((event: TunnelEvent) => void) | undefined;
}

/** Where the TLS relay is and how to reach it. */
export interface TlsRelayOptions {
  readonly host: string;
  readonly port: number;
  /** HTTP path of its WebSocket. Default `/pilot/relay`. */
  readonly path?: string | undefined;
  readonly tls: TlsRelayTlsOptions;
  readonly proxy?: HttpProxy | undefined;
}

/** Which path a peer is on: direct UDP, the beacon's UDP relay, or the relay over TLS. */
export type PeerPath = 'direct' | 'relay' | 'relay-tls';

/** One peer as `peers()` reports it (also the `peer_list[]` entries of the daemon's info). */
export interface PeerInfo {
  node_id: number;
  /** `ip:port` of the direct path, or of the beacon when relayed; empty before any path exists. */
  endpoint: string;
  encrypted: boolean;
  authenticated: boolean;
  relay: boolean;
  /** `direct`, `relay` (the beacon over UDP) or `relay-tls` (the rendezvous' relay over TLS). */
  path: PeerPath;
  /** From ensureTunnel's start (the punch request) to the first authenticated frame from the peer. */
  setup_ms?: number;
  /** Milliseconds since the last authenticated frame from the peer (-1: never). */
  last_seen_ms: number;
  bytes_sent: number;
  bytes_recv: number;
  /** The negotiated tunnel capabilities (ours ∩ the peer's PILX); empty for reference peers. */
  capabilities: string[];
  /** True when the keys in use are a forward-secret session (not the spec's static key). */
  forward_secret: boolean;
}
