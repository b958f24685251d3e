// A registry 50 ms away, and the registry side's view of the daemon's requests: a TCP proxy in front
// of a real registry that delays each direction by `oneWayMs` and, the link being plaintext JSON
// frames (4-byte big-endian length, then JSON), notes when each request reaches the registry and
// when its reply leaves it (the protocol is strictly request → reply on a connection).
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ProxiedRequest {
  readonly type: string;
  /** performance.now() when the request was handed to the registry. */
  readonly at: number;
  /** How long the registry took to answer (its side only, without the link delays). */
  replyMs?: number;
}

/** Splits a byte stream into frames' JSON `type`s. */
class FrameTypes {
  #buffer = Buffer.alloc(0);
  push(chunk: Buffer): string[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const types: string[] = [];
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt32BE(0);
      if (this.#buffer.length < 4 + length) break;
      const body = this.#buffer.subarray(4, 4 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(4 + length);
      try {
        const type = (JSON.parse(body) as { type?: unknown }).type;
        types.push(typeof type === 'string' ? type : '?');
      } catch {
        types.push('?');
      }
    }
    return types;
  }
}

export class RegistryProxy {
  readonly requests: ProxiedRequest[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: { host: string; port: number }, oneWayMs: number): Promise<RegistryProxy> {
    const server = createServer();
    const proxy = new RegistryProxy(server);
    server.on('connection', (client) => proxy.#pipe(client, target, oneWayMs));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get address(): string {
    const where = this.#server.address();
    if (where === null || typeof where === 'string') throw new Error('proxy not listening');
    return `127.0.0.1:${where.port}`;
  }

  /** Requests of `type` handed to the registry between `from` and `to` (performance.now()). */
  between(type: string, from: number, to: number): ProxiedRequest[] {
    return this.requests.filter((r) => r.type === type && r.at >= from && r.at <= to);
  }

  #later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  #pipe(client: Socket, target: { host: string; port: number }, oneWayMs: number): void {
    const upstream = connect(target.port, target.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const up = new FrameTypes();
    const down = new FrameTypes();
    const waiting: ProxiedRequest[] = [];
    client.on('data', (chunk: Buffer) =>
      this.#later(oneWayMs, () => {
        for (const type of up.push(chunk)) {
          const request: ProxiedRequest = { type, at: performance.now() };
          this.requests.push(request);
          waiting.push(request);
        }
        if (!upstream.destroyed) upstream.write(chunk);
      }),
    );
    upstream.on('data', (chunk: Buffer) => {
      for (const _ of down.push(chunk)) {
        const request = waiting.shift();
        if (request !== undefined) request.replyMs = performance.now() - request.at;
      }
      this.#later(oneWayMs, () => {
        if (!client.destroyed) client.write(chunk);
      });
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('close', () => this.#later(oneWayMs, end));
    upstream.on('close', () => this.#later(oneWayMs, end));
    client.on('error', () => {});
    upstream.on('error', () => {});
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
