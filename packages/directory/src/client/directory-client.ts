import { isPilotError, PilotError } from '@pilot/wire';
import { toBase64 } from '../base64.js';
import { DirErrorCode, dirError } from '../errors.js';
import { advertisedExtensions, RegistryExtension } from '../extensions.js';
import { Challenge, type DirectorySigner, signChallenge } from '../signed-text.js';
import { type Dialer, RegistryConnection, type TlsClientOptions } from './connection.js';
import { type RequestLane, RequestLanes } from './request-lanes.js';

export type DirectoryClientOptions = {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsClientOptions;
  /** Reach the registry through this (an HTTP CONNECT proxy) instead of a direct TCP connection. */
  readonly dial?: Dialer;
  /** Deadline of one request, reply included. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Connection attempts before a request fails. Default 5 (delays 0.5 s doubling to 10 s, as the reference). */
  readonly reconnectAttempts?: number;
  readonly reconnectBaseDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  /**
   * How to sign. `auto` (default): the reference's challenge form and the reference's requests until
   * the registry advertises our extensions (`extensions` in register_ok / beacon_list_ok), fresh
   * signatures and the extensions from then on, for the life of the client (never back: no silent
   * downgrade). `fresh`: assume our registry (every extension). `legacy`: assume a reference registry.
   */
  readonly signatures?: 'auto' | 'fresh' | 'legacy';
  /** Extensions known beforehand (e.g. remembered from an earlier session with this registry). */
  readonly extensions?: readonly string[];
  /** Same as `signatures: 'legacy'` (kept for existing callers). */
  readonly legacySignatures?: boolean;
  /** Background requests (`lane: 'background'`) waiting at once; more are refused. Default 64. */
  readonly maxBackgroundRequests?: number;
};

/** How one request is sent: its deadline, and its queue (request-lanes.ts). */
export type RequestOptions = {
  readonly timeoutMs?: number;
  /** Default `own`. `background` requests wait behind every `own` one and give up at their deadline. */
  readonly lane?: RequestLane;
};

type Message = Record<string, unknown>;
/** A request, or a function building it: built again on a retry, so a signature is never reused. */
type MessageSource = Message | (() => Message);

export type RegisterOptions = {
  readonly listenAddr?: string;
  readonly owner?: string;
  readonly hostname?: string;
  readonly lanAddrs?: readonly string[];
  readonly version?: string;
  /** Our tunnel's capabilities beyond the spec; sent only to a registry advertising `tunnel-capabilities`. */
  readonly tunnelCapabilities?: readonly string[];
};

export type RegisterResult = {
  readonly nodeId: number;
  readonly address: string;
  readonly observedAddr?: string;
  readonly hostname?: string;
  readonly hostnameError?: string;
  /**
   * Ours (`reflector` extension): the UDP port of a second reflector on the beacon's host, against
   * which (with the beacon) a node classifies its NAT. Absent from a reference registry.
   */
  readonly reflectorPort?: number;
  /**
   * Ours (`wss` extension): the TCP port of the rendezvous' relay over WebSocket-over-TLS on the
   * registry's host (same certificate). Absent from a reference registry.
   */
  readonly wssPort?: number;
};

/** What `birthday` answers: the peer's IPs (an intent), or the nodes that intend to reach us. */
export type BirthdayReply = {
  /** With a peer: the IPs the registry knows the peer by. */
  readonly ips: readonly string[];
  /** Without a peer: who asked for birthday probing with us (live intents), and from where. */
  readonly peers: readonly { readonly nodeId: number; readonly ips: readonly string[] }[];
};

export type NodeInfo = {
  readonly nodeId: number;
  readonly address: string;
  readonly publicKey: string;
  readonly public: boolean;
  readonly networks: readonly number[];
  readonly hostname?: string;
  readonly tags: readonly string[];
  readonly realAddr?: string;
  /** The last key rotation: the key before, and its signature over `rotate:<id>:<new key>` (check it with `rotationProofValid`). */
  readonly rotation?: { readonly previousKey: string; readonly proof: string };
  /** What the node's tunnel supports beyond the spec (our registry's `tunnel-capabilities`); absent elsewhere. */
  readonly tunnelCapabilities?: readonly string[];
};

export type FindHit = {
  readonly nodeId: number;
  readonly address: string;
  readonly hostname?: string;
  readonly tags: readonly string[];
  readonly public: boolean;
  readonly score: number;
};

export type FindQuery = {
  readonly tags?: readonly string[];
  readonly hostname?: string;
  readonly limit?: number;
  readonly offset?: number;
  /** Sign as this node to also see the private nodes it may resolve. */
  readonly as?: { readonly nodeId: number; readonly signer: DirectorySigner };
};

function num(reply: Message, field: string): number {
  const value = reply[field];
  if (typeof value !== 'number') throw dirError(DirErrorCode.BAD_REPLY, `reply lacks numeric ${field}`);
  return value;
}

function text(reply: Message, field: string): string {
  const value = reply[field];
  if (typeof value !== 'string') throw dirError(DirErrorCode.BAD_REPLY, `reply lacks string ${field}`);
  return value;
}

function optionalText(reply: Message, field: string): { [key: string]: string } {
  const value = reply[field];
  return typeof value === 'string' ? { [field]: value } : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** A `reflector_port` that is a real UDP port, else undefined (a hostile registry may send anything). */
function reflectorPortOf(reply: Message): number | undefined {
  return portField(reply, 'reflector_port');
}

/** A `wss_port` that is a real TCP port, else undefined (a hostile registry may send anything). */
export function wssPortOf(reply: Message): number | undefined {
  return portField(reply, 'wss_port');
}

function portField(reply: Message, field: string): number | undefined {
  const port = reply[field];
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 0xffff ? port : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A registry client: one connection, strictly request → reply, every request under a deadline.
 * A connection that fails is replaced (with backoff) and the request sent once more, re-signed.
 * Error replies reject with a PilotError carrying the server's code (DIR_REMOTE when a server of
 * another implementation sends none).
 */
export class DirectoryClient {
  readonly #options: DirectoryClientOptions;
  #connection: RegistryConnection | undefined;
  readonly #lanes: RequestLanes;
  #closed = false;
  readonly #mode: 'auto' | 'fresh' | 'legacy';
  /** Everything the registry has advertised; it only grows (no downgrade). */
  readonly #extensions = new Set<string>();
  /** Whether a reply that would carry the advertisement (register_ok, beacon_list_ok) has been seen. */
  #negotiated = false;
  /** Signed requests that need no probe first (register: its reply is the advertisement). */
  readonly #unprobed = new WeakSet<() => Message>();

  private constructor(options: DirectoryClientOptions) {
    this.#options = options;
    this.#lanes = new RequestLanes({ maxBackground: options.maxBackgroundRequests ?? 64 });
    this.#mode = options.legacySignatures === true ? 'legacy' : (options.signatures ?? 'auto');
    for (const name of options.extensions ?? []) this.#extensions.add(name);
    if (this.#mode === 'fresh')
      for (const name of Object.values(RegistryExtension)) this.#extensions.add(name);
    if (this.#mode !== 'auto' || this.#extensions.size > 0) this.#negotiated = true;
  }

  /** The registry extensions this client uses (advertised, or assumed by `signatures: 'fresh'`). */
  get extensions(): ReadonlySet<string> {
    return this.#extensions;
  }

  /** Whether the registry offers an extension (never in `legacy` mode). */
  supports(extension: string): boolean {
    return this.#mode !== 'legacy' && this.#extensions.has(extension);
  }

  /**
   * Learns what the registry offers, if no advertisement has been seen yet, with `beacon_list` (a
   * read the reference registry answers too, for its beacons). Registering also learns it.
   */
  async negotiate(): Promise<ReadonlySet<string>> {
    if (!this.#negotiated) await this.request({ type: 'beacon_list' });
    return this.#extensions;
  }

  #learn(reply: Message): void {
    if (this.#mode === 'legacy') return;
    if (reply.type === 'register_ok' || reply.type === 'beacon_list_ok') this.#negotiated = true;
    for (const name of advertisedExtensions(reply)) this.#extensions.add(name);
  }

  /** Connects (with the reconnect policy) and returns the client. */
  static async connect(options: DirectoryClientOptions): Promise<DirectoryClient> {
    const client = new DirectoryClient(options);
    await client.#ensureConnection();
    return client;
  }

  /**
   * Sends one request; resolves with the `_ok` reply, rejects with a PilotError. A request built by
   * a function is a signed one: if the registry has advertised nothing yet (a client that has not
   * registered), `beacon_list` goes first to learn how to sign it.
   */
  request(source: MessageSource, options: RequestOptions = {}): Promise<Message> {
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs ?? 10_000;
    const lane = options.lane ?? 'own';
    const queuedAt = performance.now();
    const send = async (): Promise<Message> => {
      // A background request's deadline runs from the call: time spent queued counts.
      const budget =
        lane === 'background' ? Math.max(1, timeoutMs - (performance.now() - queuedAt)) : timeoutMs;
      if (typeof source === 'function' && !this.#negotiated && !this.#unprobed.has(source)) {
        await this.#send({ type: 'beacon_list' }, budget);
      }
      return this.#send(source, budget);
    };
    return this.#lanes.run(lane, send, lane === 'background' ? timeoutMs : undefined);
  }

  /** Requests waiting in each lane, and background requests refused or expired since the start. */
  get queue(): {
    readonly own: number;
    readonly background: number;
    readonly backgroundRefused: number;
    readonly backgroundExpired: number;
  } {
    return {
      ...this.#lanes.waiting,
      backgroundRefused: this.#lanes.backgroundRefused,
      backgroundExpired: this.#lanes.backgroundExpired,
    };
  }

  close(): void {
    this.#closed = true;
    this.#connection?.close();
    this.#connection = undefined;
  }

  /**
   * Fresh when the registry takes it; the reference's challenge alone otherwise. With `body` (the
   * request without its signature) and a registry that advertises signed values, the signature
   * covers the request's values too (version 2).
   */
  #sign(signer: DirectorySigner, challenge: string, body?: Message): Message {
    return signChallenge(signer, challenge, {
      legacy: !this.supports(RegistryExtension.FRESH_SIGNATURES),
      ...(body !== undefined && this.supports(RegistryExtension.SIGNED_VALUES) ? { values: body } : {}),
    });
  }

  /** `body` with its signature. */
  #signed(signer: DirectorySigner, challenge: string, body: Message): Message {
    return { ...body, ...this.#sign(signer, challenge, body) };
  }

  async #ensureConnection(): Promise<RegistryConnection> {
    if (this.#connection?.alive === true) return this.#connection;
    const attempts = this.#options.reconnectAttempts ?? 5;
    let delay = this.#options.reconnectBaseDelayMs ?? 500;
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (this.#closed) throw dirError(DirErrorCode.CONNECTION, 'client closed');
      try {
        this.#connection = await RegistryConnection.open({
          host: this.#options.host,
          port: this.#options.port,
          connectTimeoutMs: this.#options.connectTimeoutMs ?? 5000,
          ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
          ...(this.#options.dial === undefined ? {} : { dial: this.#options.dial }),
        });
        return this.#connection;
      } catch (error) {
        last = error;
        if (isPilotError(error, DirErrorCode.PIN_MISMATCH)) throw error;
        if (attempt + 1 < attempts) await sleep(delay);
        delay = Math.min(delay * 2, this.#options.reconnectMaxDelayMs ?? 10_000);
      }
    }
    throw isPilotError(last) ? last : dirError(DirErrorCode.CONNECTION, 'cannot reach the registry', last);
  }

  async #send(source: MessageSource, timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    let retried = false;
    for (;;) {
      const connection = await this.#ensureConnection();
      const message = typeof source === 'function' ? source() : source;
      let timer: NodeJS.Timeout | undefined;
      try {
        const remaining = Math.max(1, deadline - Date.now());
        const reply = await Promise.race([
          connection.request(message),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(dirError(DirErrorCode.TIMEOUT, `no reply within ${timeoutMs} ms`)),
              remaining,
            );
          }),
        ]);
        this.#learn(reply);
        if (reply.type === 'error') {
          const code = typeof reply.code === 'string' ? reply.code : DirErrorCode.REMOTE;
          throw new PilotError(code, typeof reply.error === 'string' ? reply.error : 'registry error');
        }
        return reply;
      } catch (error) {
        if (isPilotError(error, DirErrorCode.TIMEOUT)) {
          // A late reply would be taken for the next request's: this connection is done.
          connection.close(error);
          throw error;
        }
        if (
          isPilotError(error, DirErrorCode.CONNECTION) &&
          !retried &&
          !this.#closed &&
          Date.now() < deadline
        ) {
          retried = true;
          continue;
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  // ---- typed operations ----

  /**
   * Registers (or re-registers) the key. Signed (proof of possession) where the registry advertises
   * it; before the first advertisement the request is the reference's unsigned one, and our
   * registry's answer (an advertisement, or a refusal saying a signature is required) makes the
   * client register once more, signed — so on our registry the key is always proven.
   */
  async register(signer: DirectorySigner, options: RegisterOptions = {}): Promise<RegisterResult> {
    const publicKey = toBase64(signer.publicKey);
    let signed = false;
    const send = (): Promise<Message> => {
      signed = this.supports(RegistryExtension.SIGNED_REGISTER);
      const build = (): Message => {
        const body: Message = {
          type: 'register',
          public_key: publicKey,
          listen_addr: options.listenAddr ?? '',
          ...(options.owner === undefined ? {} : { owner: options.owner }),
          ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
          ...(options.lanAddrs === undefined ? {} : { lan_addrs: options.lanAddrs }),
          ...(options.version === undefined ? {} : { version: options.version }),
          ...(options.tunnelCapabilities === undefined ||
          !signed ||
          !this.supports(RegistryExtension.TUNNEL_CAPABILITIES)
            ? {}
            : { tunnel_capabilities: [...options.tunnelCapabilities] }),
        };
        return signed ? this.#signed(signer, Challenge.register(publicKey), body) : body;
      };
      this.#unprobed.add(build);
      return this.request(build);
    };
    let reply: Message;
    try {
      reply = await send();
    } catch (error) {
      // Only our registry refuses an unsigned register with these codes (the reference sends none).
      const ours =
        isPilotError(error, DirErrorCode.FRESHNESS_REQUIRED) ||
        isPilotError(error, DirErrorCode.SIGNATURE_REQUIRED);
      if (signed || this.#mode !== 'auto' || !ours) throw error;
      this.#extensions.add(RegistryExtension.FRESH_SIGNATURES);
      this.#extensions.add(RegistryExtension.SIGNED_REGISTER);
      reply = await send();
    }
    if (!signed && this.supports(RegistryExtension.SIGNED_REGISTER)) reply = await send();
    const reflectorPort = reflectorPortOf(reply);
    const wssPort = wssPortOf(reply);
    return {
      nodeId: num(reply, 'node_id'),
      address: text(reply, 'address'),
      ...(typeof reply.observed_addr === 'string' ? { observedAddr: reply.observed_addr } : {}),
      ...(typeof reply.hostname === 'string' ? { hostname: reply.hostname } : {}),
      ...(typeof reply.hostname_error === 'string' ? { hostnameError: reply.hostname_error } : {}),
      ...(reflectorPort === undefined ? {} : { reflectorPort }),
      ...(wssPort === undefined ? {} : { wssPort }),
    };
  }

  /**
   * Ours (`birthday` extension): with `peerId`, declares that `requesterId` will birthday-probe that
   * peer and learns the peer's IPs; without, learns which nodes intend to reach `requesterId`.
   * Rejects with DIR_UNSUPPORTED, sending nothing, when the registry does not advertise it.
   */
  async birthday(
    signer: DirectorySigner,
    requesterId: number,
    peerId?: number,
    options: RequestOptions = {},
  ): Promise<BirthdayReply> {
    await this.negotiate();
    if (!this.supports(RegistryExtension.BIRTHDAY)) {
      throw dirError(
        DirErrorCode.UNSUPPORTED,
        'this registry does not offer birthday intents (a reference registry)',
      );
    }
    const reply = await this.request(
      () =>
        this.#signed(signer, Challenge.birthday(requesterId, peerId ?? 0), {
          type: 'birthday',
          requester_id: requesterId,
          ...(peerId === undefined ? {} : { node_id: peerId }),
        }),
      options,
    );
    const peers = (Array.isArray(reply.peers) ? (reply.peers as Message[]) : []).slice(0, 64).map((peer) => ({
      nodeId: num(peer, 'node_id'),
      ips: strings(peer.ips).slice(0, 8),
    }));
    return { ips: strings(reply.ips).slice(0, 8), peers };
  }

  async lookup(nodeId: number, options: RequestOptions = {}): Promise<NodeInfo> {
    const reply = await this.request({ type: 'lookup', node_id: nodeId }, options);
    return {
      nodeId: num(reply, 'node_id'),
      address: text(reply, 'address'),
      publicKey: text(reply, 'public_key'),
      public: reply.public === true,
      networks: Array.isArray(reply.networks)
        ? reply.networks.filter((n): n is number => typeof n === 'number')
        : [],
      tags: strings(reply.tags),
      ...(optionalText(reply, 'hostname') as { hostname?: string }),
      ...(typeof reply.real_addr === 'string' ? { realAddr: reply.real_addr } : {}),
      ...(typeof reply.previous_public_key === 'string' && typeof reply.rotation_proof === 'string'
        ? { rotation: { previousKey: reply.previous_public_key, proof: reply.rotation_proof } }
        : {}),
      ...(Array.isArray(reply.tunnel_capabilities)
        ? { tunnelCapabilities: strings(reply.tunnel_capabilities).slice(0, 16) }
        : {}),
    };
  }

  /** The endpoint of `nodeId`, asked as `requesterId` (allowed by the privacy rule or DIR_RESOLVE_DENIED). */
  async resolve(
    signer: DirectorySigner,
    requesterId: number,
    nodeId: number,
  ): Promise<{ realAddr: string | null; lanAddrs: string[] }> {
    const reply = await this.request(() =>
      this.#signed(signer, Challenge.resolve(requesterId, nodeId), {
        type: 'resolve',
        node_id: nodeId,
        requester_id: requesterId,
      }),
    );
    return {
      realAddr: typeof reply.real_addr === 'string' ? reply.real_addr : null,
      lanAddrs: strings(reply.lan_addrs),
    };
  }

  async resolveHostname(
    hostname: string,
    requesterId?: number,
  ): Promise<{ nodeId: number; address: string; public: boolean }> {
    const reply = await this.request({
      type: 'resolve_hostname',
      hostname,
      ...(requesterId === undefined ? {} : { requester_id: requesterId }),
    });
    return { nodeId: num(reply, 'node_id'), address: text(reply, 'address'), public: reply.public === true };
  }

  async setHostname(signer: DirectorySigner, nodeId: number, hostname: string): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.setHostname(nodeId), {
        type: 'set_hostname',
        node_id: nodeId,
        hostname,
      }),
    );
  }

  async setTags(signer: DirectorySigner, nodeId: number, tags: readonly string[]): Promise<string[]> {
    const reply = await this.request(() =>
      this.#signed(signer, Challenge.setTags(nodeId), {
        type: 'set_tags',
        node_id: nodeId,
        tags,
      }),
    );
    return strings(reply.tags);
  }

  async setVisibility(signer: DirectorySigner, nodeId: number, visible: boolean): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.setVisibility(nodeId), {
        type: 'set_visibility',
        node_id: nodeId,
        public: visible,
      }),
    );
  }

  /** Returns the registry's clock (unix seconds). */
  async heartbeat(signer: DirectorySigner, nodeId: number): Promise<number> {
    const reply = await this.request(() =>
      this.#signed(signer, Challenge.heartbeat(nodeId), {
        type: 'heartbeat',
        node_id: nodeId,
      }),
    );
    return num(reply, 'time');
  }

  async deregister(signer: DirectorySigner, nodeId: number): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.deregister(nodeId), {
        type: 'deregister',
        node_id: nodeId,
      }),
    );
  }

  /** Replaces the node's key: signed by the current key. */
  async rotateKey(signer: DirectorySigner, nodeId: number, newPublicKey: Uint8Array): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.rotateKey(nodeId), {
        type: 'rotate_key',
        node_id: nodeId,
        new_public_key: toBase64(newPublicKey),
        rotation_proof: toBase64(
          signer.sign(new TextEncoder().encode(Challenge.rotationProof(nodeId, toBase64(newPublicKey)))),
        ),
      }),
    );
  }

  async createNetwork(
    signer: DirectorySigner,
    nodeId: number,
    name: string,
    joinRule: 'open' | 'token' | 'invite',
    token?: string,
  ): Promise<number> {
    const reply = await this.request(() => ({
      type: 'create_network',
      node_id: nodeId,
      name,
      join_rule: joinRule,
      ...(token === undefined ? {} : { token }),
      // The reference authorises create_network by admin token only; it gets no signature.
      ...(this.supports(RegistryExtension.SIGNED_CREATE_NETWORK)
        ? this.#sign(signer, Challenge.createNetwork(nodeId, name))
        : {}),
    }));
    return num(reply, 'network_id');
  }

  async joinNetwork(
    signer: DirectorySigner,
    nodeId: number,
    networkId: number,
    options: { readonly token?: string; readonly inviterId?: number } = {},
  ): Promise<string> {
    const reply = await this.request(() =>
      this.#signed(signer, Challenge.joinNetwork(nodeId, networkId), {
        type: 'join_network',
        node_id: nodeId,
        network_id: networkId,
        ...(options.token === undefined ? {} : { token: options.token }),
        ...(options.inviterId === undefined ? {} : { inviter_id: options.inviterId }),
      }),
    );
    return text(reply, 'address');
  }

  async leaveNetwork(signer: DirectorySigner, nodeId: number, networkId: number): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.leaveNetwork(nodeId, networkId), {
        type: 'leave_network',
        node_id: nodeId,
        network_id: networkId,
      }),
    );
  }

  async inviteToNetwork(
    signer: DirectorySigner,
    inviterId: number,
    networkId: number,
    targetId: number,
  ): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.invite(inviterId, networkId, targetId), {
        type: 'invite_to_network',
        inviter_id: inviterId,
        network_id: networkId,
        target_id: targetId,
      }),
    );
  }

  listNetworks(): Promise<Message> {
    return this.request({ type: 'list_networks' });
  }

  /** Paging (`limit`, `offset`) only where the registry advertises it; the reference lists everything at once. */
  listNodes(
    networkId: number,
    page: { readonly limit?: number; readonly offset?: number } = {},
  ): Promise<Message> {
    const paged = this.supports(RegistryExtension.SIGNED_LIST_NODES);
    return this.request({ type: 'list_nodes', network_id: networkId, ...(paged ? page : {}) });
  }

  /**
   * The members of a network as seen by one of them: signed (private members included, paged) where
   * the registry advertises it, else the reference's plain request (which shows every member).
   */
  listNodesAs(signer: DirectorySigner, requesterId: number, networkId: number, offset = 0): Promise<Message> {
    if (!this.supports(RegistryExtension.SIGNED_LIST_NODES)) {
      return this.request({ type: 'list_nodes', network_id: networkId });
    }
    return this.request(() =>
      this.#signed(signer, Challenge.listNodes(requesterId, networkId), {
        type: 'list_nodes',
        network_id: networkId,
        offset,
        requester_id: requesterId,
      }),
    );
  }

  async requestHandshake(
    signer: DirectorySigner,
    fromId: number,
    toId: number,
    justification: string,
  ): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.requestHandshake(fromId, toId), {
        type: 'request_handshake',
        from_node_id: fromId,
        to_node_id: toId,
        justification,
      }),
    );
  }

  pollHandshakes(signer: DirectorySigner, nodeId: number): Promise<Message> {
    return this.request(() =>
      this.#signed(signer, Challenge.pollHandshakes(nodeId), {
        type: 'poll_handshakes',
        node_id: nodeId,
      }),
    );
  }

  async respondHandshake(
    signer: DirectorySigner,
    nodeId: number,
    peerId: number,
    accept: boolean,
  ): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.respondHandshake(nodeId, peerId), {
        type: 'respond_handshake',
        node_id: nodeId,
        peer_id: peerId,
        accept,
      }),
    );
  }

  async reportTrust(signer: DirectorySigner, nodeId: number, peerId: number): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.reportTrust(nodeId, peerId), {
        type: 'report_trust',
        node_id: nodeId,
        peer_id: peerId,
      }),
    );
  }

  async revokeTrust(signer: DirectorySigner, nodeId: number, peerId: number): Promise<void> {
    await this.request(() =>
      this.#signed(signer, Challenge.revokeTrust(nodeId, peerId), {
        type: 'revoke_trust',
        node_id: nodeId,
        peer_id: peerId,
      }),
    );
  }

  async checkTrust(nodeId: number, peerId: number): Promise<boolean> {
    const reply = await this.request({ type: 'check_trust', node_id: nodeId, peer_id: peerId });
    return reply.trusted === true;
  }

  punch(signer: DirectorySigner, requesterId: number, nodeA: number, nodeB: number): Promise<Message> {
    return this.request(() =>
      this.#signed(signer, Challenge.punch(nodeA, nodeB), {
        type: 'punch',
        requester_id: requesterId,
        node_a: nodeA,
        node_b: nodeB,
      }),
    );
  }

  async beaconRegister(beaconId: string | number, addr: string, token?: string): Promise<void> {
    await this.request({
      type: 'beacon_register',
      beacon_id: beaconId,
      addr,
      ...(token === undefined ? {} : { token }),
    });
  }

  async beaconList(): Promise<{ beaconId: string | number; addr: string }[]> {
    const reply = await this.request({ type: 'beacon_list' });
    const list = Array.isArray(reply.beacons) ? (reply.beacons as Message[]) : [];
    // Ours names the id `beacon_id`, the reference `id`.
    return list.map((b) => ({ beaconId: (b.beacon_id ?? b.id) as string | number, addr: String(b.addr) }));
  }

  /**
   * Capability discovery: by tags (ranked, paginated) or by hostname. Our extension: rejects with
   * DIR_UNSUPPORTED, sending nothing more, when the registry does not advertise it (the reference).
   */
  async find(query: FindQuery): Promise<{ results: FindHit[]; nextOffset?: number }> {
    await this.negotiate();
    if (!this.supports(RegistryExtension.FIND)) {
      throw dirError(
        DirErrorCode.UNSUPPORTED,
        'this registry offers no capability search (find): it does not advertise the extension (a reference registry)',
      );
    }
    const as = query.as;
    const reply = await this.request(() => ({
      type: 'find',
      ...(query.tags === undefined ? {} : { tags: query.tags }),
      ...(query.hostname === undefined ? {} : { hostname: query.hostname }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
      ...(query.offset === undefined ? {} : { offset: query.offset }),
      ...(as === undefined
        ? {}
        : { requester_id: as.nodeId, ...this.#sign(as.signer, Challenge.find(as.nodeId)) }),
    }));
    const results = (Array.isArray(reply.results) ? (reply.results as Message[]) : []).map((hit) => ({
      nodeId: num(hit, 'node_id'),
      address: text(hit, 'address'),
      tags: strings(hit.tags),
      public: hit.public === true,
      score: num(hit, 'score'),
      ...(optionalText(hit, 'hostname') as { hostname?: string }),
    }));
    return typeof reply.next_offset === 'number' ? { results, nextOffset: reply.next_offset } : { results };
  }
}
