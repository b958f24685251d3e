import type { RemoteInfo, Socket } from 'node:dgram';
import type { Identity } from '@pilot/crypto';
import {
  type BeaconMessage,
  checkUdpAddress,
  decodeBeaconMessage,
  encodeBeaconMessage,
  fromIpEndpoint,
  isBeaconMessage,
  isPilotError,
  sameUdpAddress,
  type UdpAddress,
} from '@pilot/wire';
import { type RetransmitOptions, socketFamily, transact } from '../_transact.js';
import {
  DISCOVER_PADDED_SIZE,
  encodePaddedBeaconMessage,
  PUNCH_REQUEST_PADDED_SIZE,
} from '../beacon-request.js';
import { encodeDiscoverProof } from '../discover-proof.js';
import { NatErrorCode, natError } from '../errors.js';
import { sendAddress } from '../send-address.js';

export interface BeaconClientOptions {
  /** This node's ID (0 only asks for the endpoint without registering). */
  readonly node: number;
  /** The beacon's address (an IP literal). */
  readonly beacon: UdpAddress;
  /**
   * Pad discover and punch requests with zeros so a strict beacon may answer them in full
   * (DISCOVER_PADDED_SIZE, PUNCH_REQUEST_PADDED_SIZE). Default true; false sends the reference's
   * exact sizes.
   */
  readonly pad?: boolean;
  /**
   * The node's identity: discovers then carry a proof of it (discover-proof.ts), so that a beacon
   * that knows the registry's keys lets no one else move where the node's relayed frames go.
   * Beacons that cannot check it ignore it.
   */
  readonly identity?: Identity;
  /** Clock in unix ms for the proof's timestamp (tests). Default Date.now. */
  readonly now?: () => number;
}

/** Counters of what the client ignored, and of its keepalives. */
export interface BeaconClientStats {
  /** Beacon messages from an address other than the beacon (spoofed replies, commands, deliveries). */
  spoofed: number;
  /** Beacon-looking datagrams from the beacon that did not decode, or went the wrong way. */
  garbage: number;
  /** Keepalive discovers the beacon answered. */
  keepalives: number;
  /** Keepalive discovers that got no answer (NAT_TIMEOUT). */
  keepaliveTimeouts: number;
}

/** The default keepalive period: half the 30-second UDP mapping lifetime of common NATs. */
export const KEEPALIVE_INTERVAL_MS = 15_000;
/** Keepalive periods must stay below this (the shortest common NAT UDP mapping lifetime). */
export const MAX_KEEPALIVE_INTERVAL_MS = 29_000;

export interface KeepaliveOptions {
  /** Period of the discover in ms: 100 ≤ intervalMs ≤ 29 000. Default 15 000. */
  readonly intervalMs?: number;
  /** Retransmission of each keepalive discover. Default rto 250 ms, 4 retries. */
  readonly retransmit?: Omit<RetransmitOptions, 'signal'>;
  /**
   * Called with the endpoint of every answered keepalive; `changed` is true when it differs from
   * the previous one (a NAT mapping changed: tell the registry and the peers).
   */
  readonly onEndpoint?: (endpoint: UdpAddress, changed: boolean) => void;
  /** Called when a keepalive gets no answer (NAT_TIMEOUT); the next one is sent on schedule. */
  readonly onError?: (error: unknown) => void;
}

export type PunchCommandListener = (peer: UdpAddress) => void;
export type RelayDeliverListener = (source: number, frame: Uint8Array) => void;

/**
 * The node side of the beacon on the node's own (caller-owned, bound) tunnel socket: discover,
 * punch requests, relay, and the punch commands and relay deliveries the beacon sends. Only beacon
 * messages (first byte 0x01–0x07) coming from the beacon's address are taken; `close()` removes
 * the client's listener and leaves the socket open.
 */
export class BeaconClient {
  readonly #socket: Socket;
  readonly #options: BeaconClientOptions;
  readonly #punchListeners = new Set<PunchCommandListener>();
  readonly #relayListeners = new Set<RelayDeliverListener>();
  readonly #stats: BeaconClientStats = { spoofed: 0, garbage: 0, keepalives: 0, keepaliveTimeouts: 0 };
  readonly #keepalives = new Set<() => void>();
  readonly #onMessage: (message: Buffer, from: RemoteInfo) => void;
  #closed = false;
  #lastProofTs = 0;

  constructor(socket: Socket, options: BeaconClientOptions) {
    checkUdpAddress(options.beacon);
    this.#socket = socket;
    this.#options = options;
    this.#onMessage = (message, from) =>
      this.#receive(new Uint8Array(message.buffer, message.byteOffset, message.length), from);
    socket.on('message', this.#onMessage);
  }

  get stats(): BeaconClientStats {
    return { ...this.#stats };
  }

  /**
   * Sends discover (registering the node unless it is 0) and resolves with the endpoint the beacon
   * saw, retransmitting like STUN. Replies from any other address are ignored and counted.
   */
  discover(options: RetransmitOptions = {}): Promise<UdpAddress> {
    const message: BeaconMessage = { type: 'discover', node: this.#options.node };
    const identity = this.#options.identity;
    let bytes: Uint8Array;
    if (identity !== undefined && message.node !== 0) {
      // Each proof newer than the last: the beacon refuses a timestamp it has seen (replay).
      const timestamp = Math.max(this.#lastProofTs + 1, (this.#options.now ?? Date.now)());
      this.#lastProofTs = timestamp;
      const plain = encodeBeaconMessage(message);
      const proof = encodeDiscoverProof(identity, message.node, timestamp);
      bytes = new Uint8Array(plain.length + proof.length);
      bytes.set(plain);
      bytes.set(proof, plain.length);
    } else {
      bytes =
        this.#options.pad === false
          ? encodeBeaconMessage(message)
          : encodePaddedBeaconMessage(message, DISCOVER_PADDED_SIZE);
    }
    return transact(
      this.#socket,
      this.#options.beacon,
      bytes,
      (datagram, from) => {
        if (datagram[0] !== 0x02 || !sameUdpAddress(from, this.#options.beacon)) return undefined;
        try {
          const reply = decodeBeaconMessage(datagram);
          return reply.type === 'discoverReply' ? fromIpEndpoint(reply.endpoint) : undefined;
        } catch (error) {
          if (isPilotError(error)) return undefined;
          throw error;
        }
      },
      { rto: 250, retries: 4, ...options },
    );
  }

  /**
   * Sends a discover every `intervalMs` (15 s by default, well under the 30 s a NAT keeps an idle
   * UDP mapping), which keeps this socket's mapping and the beacon's record of the node fresh and
   * notices when the mapping changes. The first one goes out after one interval (the caller has
   * just discovered). A tick is skipped while the previous keepalive still waits for its answer.
   * Returns the stop function; `close()` stops every keepalive too.
   */
  startKeepalive(options: KeepaliveOptions = {}): () => void {
    const intervalMs = options.intervalMs ?? KEEPALIVE_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs < 100 || intervalMs > MAX_KEEPALIVE_INTERVAL_MS) {
      throw natError(
        NatErrorCode.OUT_OF_RANGE,
        `keepalive interval must be 100–${MAX_KEEPALIVE_INTERVAL_MS} ms (NAT mappings expire after 30 s), got ${intervalMs}`,
      );
    }
    if (this.#closed) throw natError(NatErrorCode.ABORTED, 'the beacon client is closed');
    const abort = new AbortController();
    let inFlight = false;
    let last: UdpAddress | undefined;
    const tick = (): void => {
      if (inFlight) return;
      inFlight = true;
      this.discover({ rto: 250, retries: 4, ...options.retransmit, signal: abort.signal }).then(
        (endpoint) => {
          inFlight = false;
          this.#stats.keepalives++;
          const changed = last !== undefined && !sameUdpAddress(last, endpoint);
          last = endpoint;
          options.onEndpoint?.(endpoint, changed);
        },
        (error: unknown) => {
          inFlight = false;
          if (abort.signal.aborted) return;
          this.#stats.keepaliveTimeouts++;
          options.onError?.(error);
        },
      );
    };
    const timer = setInterval(tick, intervalMs);
    const stop = (): void => {
      clearInterval(timer);
      abort.abort();
      this.#keepalives.delete(stop);
    };
    this.#keepalives.add(stop);
    return stop;
  }

  /** Asks the beacon to send punch commands to this node and `target` at once. */
  requestPunch(target: number): void {
    const message: BeaconMessage = { type: 'punchRequest', requester: this.#options.node, target };
    this.#sendToBeacon(
      this.#options.pad === false
        ? encodeBeaconMessage(message)
        : encodePaddedBeaconMessage(message, PUNCH_REQUEST_PADDED_SIZE),
    );
  }

  /** Sends a tunnel frame to `destination` through the beacon. */
  relay(destination: number, frame: Uint8Array): void {
    this.#sendToBeacon(
      encodeBeaconMessage({ type: 'relay', source: this.#options.node, destination, frame }),
    );
  }

  /** Calls `listener` with the peer endpoint of every punch command; returns the unsubscribe function. */
  onPunchCommand(listener: PunchCommandListener): () => void {
    this.#punchListeners.add(listener);
    return () => this.#punchListeners.delete(listener);
  }

  /** Calls `listener` for every relayed frame; returns the unsubscribe function. */
  onRelayDeliver(listener: RelayDeliverListener): () => void {
    this.#relayListeners.add(listener);
    return () => this.#relayListeners.delete(listener);
  }

  /** The next punch command's peer endpoint, or NAT_TIMEOUT after `timeoutMs`. */
  nextPunchCommand(timeoutMs: number): Promise<UdpAddress> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(natError(NatErrorCode.TIMEOUT, `no punch command within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onPunchCommand((peer) => {
        clearTimeout(timer);
        off();
        resolve(peer);
      });
    });
  }

  /** Stops listening on the socket (the socket stays open). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#keepalives]) stop();
    this.#socket.off('message', this.#onMessage);
    this.#punchListeners.clear();
    this.#relayListeners.clear();
  }

  #sendToBeacon(bytes: Uint8Array): void {
    const beacon = this.#options.beacon;
    this.#socket.send(bytes, beacon.port, sendAddress(beacon, socketFamily(this.#socket)), () => {});
  }

  #receive(bytes: Uint8Array, from: RemoteInfo): void {
    if (!isBeaconMessage(bytes)) return;
    if (!sameUdpAddress(from, this.#options.beacon)) {
      this.#stats.spoofed++;
      return;
    }
    let message: BeaconMessage;
    try {
      message = decodeBeaconMessage(bytes);
    } catch (error) {
      if (!isPilotError(error)) throw error;
      this.#stats.garbage++;
      return;
    }
    if (message.type === 'punchCommand') {
      const peer = fromIpEndpoint(message.endpoint);
      for (const listener of [...this.#punchListeners]) listener(peer);
    } else if (message.type === 'relayDeliver') {
      for (const listener of [...this.#relayListeners]) listener(message.source, message.frame);
    } else if (message.type !== 'discoverReply') {
      this.#stats.garbage++;
    }
  }
}
