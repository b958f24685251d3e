import type { Duplex } from 'node:stream';
import { describeError } from './errors.js';
import { LineSplitter } from './line-splitter.js';
import type { McpLog } from './log.js';
import { type ServerCommand, ServerProcess } from './server-process.js';
import type { SessionHost } from './session-host.js';

type JsonId = string | number;
type JsonObject = Record<string, unknown>;

interface Session {
  readonly id: number;
  readonly stream: Duplex;
  readonly fields: Record<string, unknown>;
  /** Our ids of this session's requests that the server has not answered yet. */
  readonly pending: Set<number>;
  /** Our progress tokens handed out for this session's requests. */
  readonly progressTokens: Set<number>;
}

interface PendingRequest {
  readonly session: Session;
  readonly originalId: JsonId;
  readonly originalToken?: JsonId;
  readonly muxToken?: number;
}

const MAX_LINE = 10 * 1024 * 1024;

function isId(value: unknown): value is JsonId {
  return typeof value === 'string' || typeof value === 'number';
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Many sessions on one server process. Request ids (and progress tokens) are rewritten to ids unique
 * across sessions and mapped back on the way out; the first `initialize` reaches the server and its
 * result answers the later ones; server notifications go to every session; a request the server makes
 * (sampling, roots…) goes to the session whose request is most recently in flight.
 */
export class SharedProcess implements SessionHost {
  private readonly spec: ServerCommand;
  private readonly log: McpLog;
  private readonly sessions = new Set<Session>();
  private readonly requests = new Map<number, PendingRequest>();
  private readonly progress = new Map<number, { session: Session; token: JsonId }>();
  private readonly serverRequests = new Map<JsonId, Session>();
  private server: ServerProcess | undefined;
  private nextId = 1;
  private nextSession = 1;
  private lastActive: Session | undefined;
  private initResult: unknown;
  private initRequest: number | undefined;
  private readonly initWaiting: { session: Session; id: JsonId }[] = [];
  private initializedSent = false;
  private closing = false;

  constructor(spec: ServerCommand, log: McpLog) {
    this.spec = spec;
    this.log = log;
  }

  serve(stream: Duplex, fields: Record<string, unknown>): Promise<void> {
    const session: Session = {
      id: this.nextSession++,
      stream,
      fields,
      pending: new Set(),
      progressTokens: new Set(),
    };
    return new Promise<void>((resolve) => {
      if (this.closing) {
        stream.destroy();
        resolve();
        return;
      }
      const server = this.ensureServer();
      this.sessions.add(session);
      const splitter = new LineSplitter(MAX_LINE);
      stream.on('data', (chunk: Buffer) => {
        let lines: string[];
        try {
          lines = splitter.push(chunk);
        } catch (error) {
          this.log('warn', 'mcp session sent an oversized line; closing it', {
            ...fields,
            error: describeError(error),
          });
          stream.destroy();
          return;
        }
        for (const line of lines) this.fromSession(session, line, server);
      });
      stream.on('error', (error) =>
        this.log('debug', 'mcp session stream error', { ...fields, error: error.message }),
      );
      stream.once('end', () => stream.end());
      stream.once('close', () => {
        this.dropSession(session);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = [...this.sessions].map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.stream.destroyed) return resolve();
          session.stream.once('close', () => resolve());
        }),
    );
    const server = this.server;
    if (server !== undefined) {
      server.kill();
      await server.exited;
    }
    // The exit ended every session gracefully; a peer that does not finish its side is cut off.
    for (const session of this.sessions) session.stream.end();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.stream.destroy();
    }, 5000);
    await Promise.all(closed);
    clearTimeout(timer);
  }

  private ensureServer(): ServerProcess {
    if (this.server?.running) return this.server;
    const server = new ServerProcess(this.spec, this.log, { shared: true });
    this.server = server;
    const splitter = new LineSplitter(MAX_LINE);
    server.child.stdout.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        this.log('error', 'mcp server wrote an oversized line; stopping it', { error: describeError(error) });
        server.kill();
        return;
      }
      for (const line of lines) this.fromServer(line);
    });
    void server.exited.then(() => {
      if (this.server !== server) return;
      this.server = undefined;
      this.resetProtocolState();
      // The sessions spoke to this process: their state died with it, so they end too.
      for (const session of this.sessions) session.stream.end();
    });
    return server;
  }

  private resetProtocolState(): void {
    this.requests.clear();
    this.progress.clear();
    this.serverRequests.clear();
    this.initResult = undefined;
    this.initRequest = undefined;
    this.initWaiting.length = 0;
    this.initializedSent = false;
    for (const session of this.sessions) {
      session.pending.clear();
      session.progressTokens.clear();
    }
  }

  private fromSession(session: Session, line: string, server: ServerProcess): void {
    if (line.trim().length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.log('warn', 'mcp session sent a malformed line', { ...session.fields, line: line.slice(0, 200) });
      this.toSession(session, {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error' },
      });
      return;
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    for (const message of messages) {
      if (isObject(message)) this.routeFromSession(session, message, server);
    }
  }

  private routeFromSession(session: Session, message: JsonObject, server: ServerProcess): void {
    const method = message.method;
    const id = message.id;
    if (typeof method === 'string' && isId(id)) {
      if (method === 'initialize' && this.answerInitialize(session, id)) return;
      const muxId = this.nextId++;
      const params = isObject(message.params) ? message.params : undefined;
      const meta = params !== undefined && isObject(params._meta) ? params._meta : undefined;
      let entry: PendingRequest = { session, originalId: id };
      let outgoing: JsonObject = { ...message, id: muxId };
      if (meta !== undefined && isId(meta.progressToken)) {
        const muxToken = this.nextId++;
        this.progress.set(muxToken, { session, token: meta.progressToken });
        session.progressTokens.add(muxToken);
        entry = { ...entry, originalToken: meta.progressToken, muxToken };
        outgoing = { ...outgoing, params: { ...params, _meta: { ...meta, progressToken: muxToken } } };
      }
      if (method === 'initialize') this.initRequest = muxId;
      this.requests.set(muxId, entry);
      session.pending.add(muxId);
      this.lastActive = session;
      this.toServer(server, session, outgoing);
      return;
    }
    if (typeof method === 'string') {
      if (method === 'notifications/initialized') {
        if (this.initializedSent) return;
        this.initializedSent = true;
      } else if (method === 'notifications/cancelled') {
        const params = isObject(message.params) ? message.params : {};
        const muxId = this.findMuxId(session, params.requestId);
        if (muxId === undefined) return;
        this.toServer(server, session, { ...message, params: { ...params, requestId: muxId } });
        return;
      }
      this.toServer(server, session, message);
      return;
    }
    if (isId(id) && this.serverRequests.get(id) === session) {
      // The session's answer to a request the server made.
      this.serverRequests.delete(id);
      this.toServer(server, session, message);
    }
  }

  /** Answers `initialize` from the cached result, or queues it behind the one in flight. */
  private answerInitialize(session: Session, id: JsonId): boolean {
    if (this.initResult !== undefined) {
      this.toSession(session, { jsonrpc: '2.0', id, result: this.initResult });
      return true;
    }
    if (this.initRequest !== undefined) {
      this.initWaiting.push({ session, id });
      return true;
    }
    return false;
  }

  private findMuxId(session: Session, originalId: unknown): number | undefined {
    for (const muxId of session.pending) {
      if (this.requests.get(muxId)?.originalId === originalId) return muxId;
    }
    return undefined;
  }

  private fromServer(line: string): void {
    if (line.trim().length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.log('warn', 'mcp server wrote a malformed line', { line: line.slice(0, 200) });
      return;
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    for (const message of messages) {
      if (isObject(message)) this.routeFromServer(message);
    }
  }

  private routeFromServer(message: JsonObject): void {
    const method = message.method;
    const id = message.id;
    if (typeof method !== 'string') {
      if (typeof id !== 'number') return;
      // Settled even when the session that sent it has gone: others wait on it.
      if (id === this.initRequest) this.settleInitialize(message);
      const entry = this.requests.get(id);
      if (entry === undefined) return;
      this.finishRequest(id, entry);
      this.toSession(entry.session, { ...message, id: entry.originalId });
      return;
    }
    if (isId(id)) {
      const target = this.pickSessionForServerRequest();
      if (target === undefined) {
        this.replyToServer({
          jsonrpc: '2.0',
          id,
          error: { code: -32601, message: 'no client session connected' },
        });
        return;
      }
      this.serverRequests.set(id, target);
      this.toSession(target, message);
      return;
    }
    const params = isObject(message.params) ? message.params : {};
    if (method === 'notifications/progress' && typeof params.progressToken === 'number') {
      const owner = this.progress.get(params.progressToken);
      if (owner !== undefined)
        this.toSession(owner.session, { ...message, params: { ...params, progressToken: owner.token } });
      return;
    }
    if (method === 'notifications/cancelled' && isId(params.requestId)) {
      const owner = this.serverRequests.get(params.requestId);
      if (owner !== undefined) {
        this.serverRequests.delete(params.requestId);
        this.toSession(owner, message);
      }
      return;
    }
    for (const session of this.sessions) this.toSession(session, message);
  }

  private settleInitialize(response: JsonObject): void {
    this.initRequest = undefined;
    if (response.result !== undefined) this.initResult = response.result;
    const waiting = this.initWaiting.splice(0);
    for (const { session, id } of waiting) {
      this.toSession(session, { ...response, id });
    }
  }

  private finishRequest(muxId: number, entry: PendingRequest): void {
    this.requests.delete(muxId);
    entry.session.pending.delete(muxId);
    if (entry.muxToken !== undefined) {
      this.progress.delete(entry.muxToken);
      entry.session.progressTokens.delete(entry.muxToken);
    }
  }

  private pickSessionForServerRequest(): Session | undefined {
    if (this.lastActive !== undefined && this.sessions.has(this.lastActive)) return this.lastActive;
    let latest: Session | undefined;
    for (const session of this.sessions) latest = session;
    return latest;
  }

  private dropSession(session: Session): void {
    if (!this.sessions.delete(session)) return;
    const server = this.server;
    for (const muxId of session.pending) {
      const entry = this.requests.get(muxId);
      if (entry !== undefined) this.finishRequest(muxId, entry);
      if (server !== undefined && muxId !== this.initRequest) {
        this.toServer(server, session, {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: muxId, reason: 'client session closed' },
        });
      }
    }
    for (const [id, owner] of this.serverRequests) {
      if (owner !== session) continue;
      this.serverRequests.delete(id);
      this.replyToServer({ jsonrpc: '2.0', id, error: { code: -32000, message: 'client session closed' } });
    }
    for (let i = this.initWaiting.length - 1; i >= 0; i--) {
      if (this.initWaiting[i]?.session === session) this.initWaiting.splice(i, 1);
    }
    if (this.lastActive === session) this.lastActive = undefined;
  }

  private toServer(server: ServerProcess, session: Session, message: JsonObject): void {
    if (!server.running || server.child.stdin.writableEnded) return;
    if (!server.child.stdin.write(`${JSON.stringify(message)}\n`)) {
      // Back-pressure: stop reading this session until the server catches up.
      session.stream.pause();
      server.child.stdin.once('drain', () => session.stream.resume());
    }
  }

  private replyToServer(message: JsonObject): void {
    const server = this.server;
    if (server?.running && !server.child.stdin.writableEnded)
      server.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private toSession(session: Session, message: JsonObject): void {
    if (session.stream.destroyed || session.stream.writableEnded) return;
    session.stream.write(`${JSON.stringify(message)}\n`);
  }
}
