import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import {
  decodeJsonMessage,
  FrameDecoder,
  isPilotError,
  REGISTRY_MAX_FRAME,
  WireErrorCode,
} from '@pilot/wire';
import { DirErrorCode } from '../errors.js';
import { KeyedBuckets } from './keyed-buckets.js';
import type { Reply } from './op-context.js';
import { type RateLimit, TokenBucket } from './rate-limiter.js';
import { errorReply, type RegistryHandler } from './registry-handler.js';
import { encodeReplyFrame } from './reply-frame.js';
import { type SignatureClaim, signatureClaim } from './signature-claim.js';
import { VerifyPool } from './verify-pool.js';

export type DirectoryServerOptions = {
  readonly handler: RegistryHandler;
  /** Default "127.0.0.1"; use "0.0.0.0" or "::" to serve other machines. */
  readonly host?: string;
  /** Default 9000; 0 picks a free port. */
  readonly port?: number;
  /**
   * Serve TLS with this key and certificate (PEM). Clients pin the certificate's SHA-256. Plaintext
   * clients (reference daemons without `-registry-tls`) are still served on the same port, told
   * apart by their first byte (a TLS record starts 0x16, a request frame with its length's high
   * byte, 0x00), unless `requireTls`.
   */
  readonly tls?: Pick<TlsOptions, 'key' | 'cert'>;
  /** With `tls`: hang up on a connection whose first byte is not a TLS handshake. Default false. */
  readonly requireTls?: boolean;
  /** Largest request frame; a larger announced length gets an error reply and the connection is closed. Default 1 MiB. */
  readonly maxFrameSize?: number;
  /** Per connection. Default 100/s, burst 200 (the reference slows clients above 100/s). */
  readonly connectionRate?: RateLimit;
  /** Per source IP, over all its connections. Default 1000/s, burst 2000. */
  readonly sourceRate?: RateLimit;
  /** Default 64. */
  readonly maxConnectionsPerSource?: number;
  /**
   * New connections per source IP. Default 20/s, burst maxConnectionsPerSource: a source that
   * hangs up and reconnects to get past a per-connection budget is refused at accept.
   */
  readonly connectRate?: RateLimit;
  /**
   * Default 10,000. Over it, a new connection is closed by node:net before a Socket is even made
   * (the cheapest refusal there is), and counted in `connectionsRefused`.
   */
  readonly maxConnections?: number;
  /**
   * New connections overall. Default 1,000/s, burst 2,000. Over it, new connections are closed by
   * node:net before a Socket is made (no TLS handshake, no read, no per-connection state) until a
   * token is back, and counted in `acceptThrottled`: a connect flood from many addresses costs
   * little, and the connections already open (real nodes) are served on.
   */
  readonly acceptRate?: RateLimit;
  /**
   * New connections are closed unread (as over the accept rate) while partial frames hold this
   * share of maxBufferedBytes: a new connection could hold nothing more. Default 0.875; 1 or more: never.
   */
  readonly acceptShedAt?: number;
  /**
   * A connection whose `register` requests were refused over the registration budget this many
   * times gets its last refusal and is closed: a flood over the budget costs a reconnect (under
   * `connectRate`) instead of a parse and a reply each. Default 16.
   */
  readonly registerHangupAfter?: number;
  /** Requests one connection may have queued before more are refused. Default 32. */
  readonly maxQueuedPerConnection?: number;
  /** A connection silent this long is closed. Default 5 min. */
  readonly idleTimeoutMs?: number;
  /**
   * A frame must arrive whole within this long of its first byte, or the connection is closed: a
   * slow client cannot hold a partial frame (up to maxFrameSize bytes) for the idle timeout. Default 10 s.
   */
  readonly frameTimeoutMs?: number;
  /** Bytes held in partial frames over all connections; the connection that would pass it is closed. Default 64 MiB. */
  readonly maxBufferedBytes?: number;
  /** `register` requests per source IP (each may take a node ID). Default 10/s, burst 1000. */
  readonly registerRate?: RateLimit;
  /** How often expired nodes and stale nonces are reaped. Default 10 s; 0 disables (tests reap by hand). */
  readonly reapIntervalMs?: number;
  /**
   * Worker threads that check the signatures of registrations off the event loop, so that another
   * core does the Ed25519 work. Default 1 when the machine has more than one core, else 0.
   */
  readonly verifyWorkers?: number;
  /** Unexpected faults (a bug, a failing disk). The server keeps running. */
  readonly onError?: (error: unknown) => void;
};

/** What the server's budgets refused since the start: each is a drop, the rest are still served. */
export type DirectoryServerStats = {
  /** Connections refused over maxConnections or maxConnectionsPerSource. */
  connectionsRefused: number;
  /** Connections refused over their source IP's connectRate. */
  connectRateRefused: number;
  /**
   * Connections closed unread: over the acceptRate, or while partial frames held acceptShedAt of
   * maxBufferedBytes (then closed by node:net for 100 ms).
   */
  acceptThrottled: number;
  /** Connections closed after registerHangupAfter refused registrations. */
  registerHangups: number;
  /** Connections closed because a frame did not complete within frameTimeoutMs. */
  frameTimeouts: number;
  /** Connections closed because partial frames held more than maxBufferedBytes in all. */
  bufferBudgetCloses: number;
  /** Requests refused over the connection's or the source's rate, or its queue. */
  rateLimited: number;
  /** register requests refused over the source IP's registration rate. */
  registerLimited: number;
  /** Bytes held in partial frames now. */
  bufferedBytes: number;
};

export type DirectoryServer = {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  /** A copy of the budget counters. */
  stats(): DirectoryServerStats;
  /**
   * Stops accepting, answers every request already received, then hangs up. With `drainMs`, open
   * connections are served normally for that long first, so that requests already on their way
   * (sent just before a shutdown signal) are answered too.
   */
  close(options?: { readonly drainMs?: number }): Promise<void>;
};

type Connection = {
  readonly socket: Socket;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly bucket: TokenBucket;
  /** Requests received and not yet answered, oldest first. */
  readonly jobs: Job[];
  closing: boolean;
  /** When the partial frame now held began (performance.now()), or undefined when none is held. */
  partialSince: number | undefined;
  /** Bytes of that partial frame, as counted in the server's total. */
  held: number;
  /** Its registrations refused over the source's budget so far. */
  registerRefusals: number;
};

/** A request to run, or a reply already decided (a refusal) that must still wait its turn. */
type Job =
  | {
      readonly connection: Connection;
      readonly request: Record<string, unknown>;
      readonly reply?: undefined;
      readonly close?: boolean;
      /** Its signature is being checked by a worker: neither it nor what follows on its connection may run yet. */
      waiting?: boolean;
      verified?: SignatureClaim;
    }
  | {
      readonly connection: Connection;
      readonly request?: undefined;
      readonly reply: Reply;
      readonly close?: boolean;
      waiting?: undefined;
      verified?: undefined;
    };

const TLS_HANDSHAKE_RECORD = 0x16;

function normaliseIp(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') === true ? address.slice(7) : address;
}

/**
 * The registry over TCP (or TLS): `[u32 BE length][JSON object]` frames, each request answered in
 * order on its connection (clients may pipeline). The requests that arrive during one event-loop
 * turn, from every connection, run in one store transaction and are answered only after it commits:
 * one fsync acknowledges them all (group commit), and no reply ever announces a write that is not
 * on disk. A pure read with nothing queued ahead of it on its connection is answered at once.
 * `close()` stops accepting, answers the requests already received, then hangs up.
 */
export function startDirectoryServer(options: DirectoryServerOptions): Promise<DirectoryServer> {
  const handler = options.handler;
  const maxFrame = options.maxFrameSize ?? REGISTRY_MAX_FRAME;
  const connectionRate = options.connectionRate ?? { perSecond: 100, burst: 200 };
  const sourceRate = options.sourceRate ?? { perSecond: 1000, burst: 2000 };
  const maxPerSource = options.maxConnectionsPerSource ?? 64;
  const maxConnections = options.maxConnections ?? 10_000;
  const connectRate = options.connectRate ?? { perSecond: 20, burst: maxPerSource };
  const maxQueued = options.maxQueuedPerConnection ?? 32;
  const idleTimeout = options.idleTimeoutMs ?? 300_000;
  const frameTimeout = options.frameTimeoutMs ?? 10_000;
  const maxBuffered = options.maxBufferedBytes ?? 64 << 20;

  const registerHangupAfter = options.registerHangupAfter ?? 16;
  const acceptRate = options.acceptRate ?? { perSecond: 1000, burst: 2000 };
  const accepts = new TokenBucket(acceptRate, performance.now());
  const shedAt = options.acceptShedAt ?? 0.875;
  /** Set while accepts are throttled; its timer lifts the throttle. */
  let throttled: NodeJS.Timeout | undefined;
  const registers = new KeyedBuckets<string>(options.registerRate ?? { perSecond: 10, burst: 1000 });
  const stats: DirectoryServerStats = {
    connectionsRefused: 0,
    connectRateRefused: 0,
    acceptThrottled: 0,
    registerHangups: 0,
    frameTimeouts: 0,
    bufferBudgetCloses: 0,
    rateLimited: 0,
    registerLimited: 0,
    bufferedBytes: 0,
  };
  const onError = options.onError ?? (() => {});
  const connections = new Set<Connection>();
  const perSource = new Map<string, { count: number; bucket: TokenBucket; connects: TokenBucket }>();
  // Connections with jobs queued. Replies keep request order per connection; across connections
  // there is no order to keep.
  const busy = new Set<Connection>();
  let flushScheduled: NodeJS.Immediate | undefined;
  const pool = new VerifyPool(options.verifyWorkers ?? (availableParallelism() > 1 ? 1 : 0));
  let claims: { job: Job; claim: SignatureClaim }[] = [];

  function write(connection: Connection, reply: Reply): void {
    if (connection.socket.destroyed) return;
    let frame: Uint8Array;
    try {
      frame = encodeReplyFrame(reply, maxFrame);
    } catch (error) {
      onError(error);
      frame = encodeReplyFrame(
        errorReply(DirErrorCode.INTERNAL, 'request failed: reply too large'),
        maxFrame,
      );
    }
    connection.socket.write(frame);
  }

  function flush(): void {
    flushScheduled = undefined;
    const jobs: Job[] = [];
    for (const connection of busy) {
      const queued = connection.jobs;
      let ready = 0;
      while (ready < queued.length && queued[ready]!.waiting !== true) jobs.push(queued[ready++]!);
      queued.splice(0, ready);
      if (queued.length === 0) busy.delete(connection);
    }
    if (jobs.length === 0) return;
    let replies: Reply[];
    try {
      replies = handler.store.transaction(() =>
        jobs.map(
          (job) =>
            job.reply ??
            handler.handle(job.request, {
              remoteAddress: job.connection.remoteAddress,
              remotePort: job.connection.remotePort,
              verifiedSignature: job.verified,
            }),
        ),
      );
    } catch (error) {
      // The commit itself failed: nothing of this batch is stored, so nothing may be acknowledged.
      onError(error);
      replies = jobs.map(
        (job) => job.reply ?? errorReply(DirErrorCode.STORE_FAILED, 'request failed: storage error'),
      );
    }
    // Corked, a connection with several replies in this batch gets them in one write.
    const corked = new Set<Socket>();
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const socket = job.connection.socket;
      if (!corked.has(socket)) {
        socket.cork();
        corked.add(socket);
      }
      write(job.connection, replies[i]!);
      if (job.close === true) socket.end();
    }
    for (const socket of corked) socket.uncork();
  }

  function enqueue(job: Job): void {
    // Every reply, even a refusal decided at once, leaves in request order.
    job.connection.jobs.push(job);
    busy.add(job.connection);
    if (job.waiting !== true) flushScheduled ??= setImmediate(flush);
  }

  /** Sends the signatures gathered from one read to a worker; their jobs run once it answers. */
  function dispatchClaims(): void {
    const batch = claims;
    claims = [];
    pool.check(
      batch.map((entry) => entry.claim),
      (valid) => {
        for (let i = 0; i < batch.length; i++) {
          const { job, claim } = batch[i]!;
          job.waiting = false;
          if (valid[i] === true) job.verified = claim;
        }
        flushScheduled ??= setImmediate(flush);
      },
    );
  }

  function onFrame(connection: Connection, payload: Uint8Array): void {
    const now = performance.now();
    const source = perSource.get(connection.remoteAddress ?? '');
    if (!connection.bucket.take(now) || (source !== undefined && !source.bucket.take(now))) {
      stats.rateLimited++;
      enqueue({ connection, reply: errorReply(DirErrorCode.RATE_LIMITED, 'request failed: rate limited') });
      return;
    }
    if (connection.jobs.length >= maxQueued) {
      stats.rateLimited++;
      enqueue({
        connection,
        reply: errorReply(DirErrorCode.RATE_LIMITED, 'request failed: too many requests in flight'),
      });
      return;
    }
    let request: Record<string, unknown>;
    try {
      request = decodeJsonMessage(payload);
    } catch {
      enqueue({
        connection,
        reply: errorReply(DirErrorCode.BAD_REQUEST, 'invalid request: not a JSON object'),
      });
      return;
    }
    // Each registration may take a node ID (a million in all): a source IP gets few.
    if (request.type === 'register' && !registers.take(connection.remoteAddress ?? '', now)) {
      stats.registerLimited++;
      connection.registerRefusals++;
      const hangUp = connection.registerRefusals >= registerHangupAfter;
      if (hangUp) {
        // Nothing after this request is read: the refusal leaves, then the connection closes.
        connection.closing = true;
        stats.registerHangups++;
      }
      enqueue({
        connection,
        close: hangUp,
        reply: errorReply(
          DirErrorCode.RATE_LIMITED,
          'request failed: too many registrations from this address',
        ),
      });
      return;
    }
    // A pure read with nothing of its connection ahead of it is answered now: it has nothing to
    // commit, so it need not wait for the batch's fsync. (Nothing is ever uncommitted between
    // batches: a batch runs and commits within one callback.)
    if (connection.jobs.length === 0 && handler.readsOnly(request)) {
      write(
        connection,
        handler.handle(request, {
          remoteAddress: connection.remoteAddress,
          remotePort: connection.remotePort,
        }),
      );
      return;
    }
    const claim = pool.size > 0 ? signatureClaim(request) : undefined;
    if (claim !== undefined) {
      const job: Job = { connection, request, waiting: true };
      claims.push({ job, claim });
      enqueue(job);
      return;
    }
    enqueue({ connection, request });
  }

  /** Closes a connection over a budget; what its partial frame held is released at once. */
  function drop(connection: Connection): void {
    connection.closing = true;
    connection.partialSince = undefined;
    stats.bufferedBytes -= connection.held;
    connection.held = 0;
    connection.socket.destroy();
  }

  /** Lets node:net close every new connection unread for `ms`. */
  function throttle(ms: number): void {
    if (throttled !== undefined) return;
    server.maxConnections = 1;
    throttled = setTimeout(() => {
      throttled = undefined;
      server.maxConnections = maxConnections;
    }, ms);
    throttled.unref();
  }

  type Source = { count: number; bucket: TokenBucket; connects: TokenBucket };

  /**
   * The per-source budgets of a new TCP connection, checked on the raw socket: before a TLS
   * handshake (about a millisecond of CPU each), so a source over its budget costs no handshake.
   * Undefined (and the socket destroyed) when refused.
   */
  function admit(socket: Socket): Source | undefined {
    const key = normaliseIp(socket.remoteAddress) ?? '';
    const now = performance.now();
    // Over the accept rate, or with the partial-frame budget nearly spent (a new connection could
    // hold nothing, and reading what it sends would cost allocations and then a close): this one
    // and, for a moment, every new one are closed by node:net itself (server.maxConnections below
    // the open count), which is far cheaper than a Socket, a read and a close each.
    const full = shedAt < 1 && stats.bufferedBytes >= maxBuffered * shedAt;
    if (full || !accepts.take(now)) {
      stats.acceptThrottled++;
      socket.destroy();
      throttle(full ? 100 : Math.max(10, Math.ceil(1000 / acceptRate.perSecond)));
      return undefined;
    }
    let source = perSource.get(key);
    if (source === undefined) {
      source = {
        count: 0,
        bucket: new TokenBucket(sourceRate, now),
        connects: new TokenBucket(connectRate, now),
      };
      perSource.set(key, source);
    }
    if (connections.size >= maxConnections || source.count >= maxPerSource) {
      stats.connectionsRefused++;
      socket.destroy();
      return undefined;
    }
    if (!source.connects.take(now)) {
      stats.connectRateRefused++;
      socket.destroy();
      return undefined;
    }
    source.count += 1;
    const admitted = source;
    socket.once('close', () => {
      admitted.count -= 1;
    });
    return admitted;
  }

  function accept(socket: Socket): void {
    const remoteAddress = normaliseIp(socket.remoteAddress);
    const connection: Connection = {
      socket,
      remoteAddress,
      remotePort: socket.remotePort,
      bucket: new TokenBucket(connectionRate, performance.now()),
      jobs: [],
      closing: false,
      partialSince: undefined,
      held: 0,
      registerRefusals: 0,
    };
    connections.add(connection);
    const decoder = new FrameDecoder(maxFrame);
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeout, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (connection.closing) return;
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        // The framing is lost (an oversized or absurd length): answer once, then hang up.
        connection.closing = true;
        const tooLarge = isPilotError(error, WireErrorCode.TOO_LARGE);
        enqueue({
          connection,
          close: true,
          reply: errorReply(
            tooLarge ? DirErrorCode.TOO_LARGE : DirErrorCode.BAD_REQUEST,
            tooLarge
              ? `invalid request: frame larger than ${maxFrame} bytes`
              : 'invalid request: broken framing',
          ),
        });
        return;
      }
      // The frame budget: a partial frame must complete within frameTimeout (the sweep closes it),
      // and all partial frames together stay under maxBuffered.
      const buffered = decoder.bufferedBytes;
      stats.bufferedBytes += buffered - connection.held;
      connection.held = buffered;
      if (buffered === 0) connection.partialSince = undefined;
      else if (connection.partialSince === undefined || frames.length > 0)
        connection.partialSince = performance.now();
      if (stats.bufferedBytes > maxBuffered) {
        stats.bufferBudgetCloses++;
        drop(connection);
        return;
      }
      // Replies decided now (pure reads) for several pipelined requests leave in one write.
      if (frames.length > 1) socket.cork();
      for (const frame of frames) onFrame(connection, frame);
      if (frames.length > 1) socket.uncork();
      if (claims.length > 0) dispatchClaims();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      stats.bufferedBytes -= connection.held;
      connection.held = 0;
      connections.delete(connection);
    });
  }

  let server: Server;
  if (options.tls === undefined)
    server = createNetServer((socket) => {
      if (admit(socket) !== undefined) accept(socket);
    });
  else {
    const tlsServer = createTlsServer({ ...options.tls, handshakeTimeout: 10_000 }, (socket) =>
      accept(socket),
    );
    tlsServer.on('tlsClientError', () => {});
    const requireTls = options.requireTls === true;
    // One port for both: the first byte says which. A TLS record starts with 0x16 (handshake); a
    // request frame starts with its u32 length, whose high byte is 0 for any frame we accept.
    server = createNetServer((socket) => {
      if (admit(socket) === undefined) return;
      socket.setTimeout(idleTimeout, () => socket.destroy());
      socket.on('error', () => socket.destroy());
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        socket.setTimeout(0);
        socket.unshift(chunk);
        if (chunk[0] === TLS_HANDSHAKE_RECORD) {
          // The TLS socket reads what was unshifted before it takes over the handle.
          tlsServer.emit('connection', socket);
        } else if (requireTls) {
          socket.destroy();
        } else {
          accept(socket);
          socket.resume();
        }
      });
    });
  }
  server.on('error', onError);
  // Over the global cap, node:net closes the new handle itself, before a Socket is made.
  server.maxConnections = maxConnections;
  server.on('drop', () => {
    if (throttled === undefined) stats.connectionsRefused++;
    else stats.acceptThrottled++;
  });

  // One sweep for every connection's frame deadline (a timer per connection would cost more).
  const sweeper = setInterval(
    () => {
      const now = performance.now();
      for (const connection of connections) {
        if (connection.partialSince !== undefined && now - connection.partialSince > frameTimeout) {
          stats.frameTimeouts++;
          drop(connection);
        }
      }
      registers.prune(now);
    },
    Math.max(50, Math.min(1000, frameTimeout / 4)),
  );

  const reapInterval = options.reapIntervalMs ?? 10_000;
  const reaper =
    reapInterval > 0
      ? setInterval(() => {
          try {
            handler.reap();
          } catch (error) {
            onError(error);
          }
          const now = performance.now();
          for (const [key, entry] of perSource)
            if (entry.count === 0 && entry.bucket.idle(now) && entry.connects.idle(now))
              perSource.delete(key);
        }, reapInterval)
      : undefined;

  return new Promise((resolve, reject) => {
    const onListenError = (error: Error): void => {
      if (reaper !== undefined) clearInterval(reaper);
      clearInterval(sweeper);
      void pool.close();
      reject(error);
    };
    server.once('error', onListenError);
    server.listen(options.port ?? 9000, options.host ?? '127.0.0.1', () => {
      server.off('error', onListenError);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 9000);
      resolve({
        host: options.host ?? '127.0.0.1',
        port,
        get connections() {
          return connections.size;
        },
        stats: () => ({ ...stats }),
        async close(closeOptions?: { readonly drainMs?: number }): Promise<void> {
          if (reaper !== undefined) clearInterval(reaper);
          clearInterval(sweeper);
          if (throttled !== undefined) clearTimeout(throttled);
          // Stop accepting, answer what has been received (signatures still with a worker are
          // checked here instead), then hang up.
          const closed = new Promise<void>((done) => server.close(() => done()));
          const drainMs = closeOptions?.drainMs ?? 0;
          if (drainMs > 0) await new Promise((done) => setTimeout(done, drainMs));
          for (const connection of connections) connection.closing = true;
          await pool.close();
          if (flushScheduled !== undefined) clearImmediate(flushScheduled);
          flush();
          // The replies are written; give them a moment to leave before cutting what remains.
          for (const connection of connections) connection.socket.end();
          const linger = setTimeout(() => {
            for (const connection of connections) connection.socket.destroy();
          }, 1000);
          await closed;
          clearTimeout(linger);
        },
      });
    });
  });
}
