// Real programs in the NAT lab: the rendezvous (apps/rendezvous/dist/main.js: registry, beacon and a
// second reflector port) in `pub`, and a daemon (apps/daemon/dist/main.js) behind each router, each
// with its own PILOT_HOME, identity and IPC socket. The sockets are files, so the test process (in the
// host's network namespace) drives the daemons through them with raw IPC frames.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DAEMON_MAIN,
  type LabNamespace,
  type LabProcess,
  type NatLab,
  RENDEZVOUS_MAIN,
  startLabDaemon,
  startLabRendezvous,
} from '@pilot/testkit/natlab';
import {
  DataExchangeType,
  encodeFilePayload,
  encodeServiceEvent,
  encodeServiceFrame,
  type IpcMessage,
  SERVICE_MAX_PAYLOAD,
  type ServiceEvent,
  ServiceEventDecoder,
  ServiceFrameDecoder,
} from '@pilot/wire';
import { IpcTestClient } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Builds the two programs when a fresh checkout has not yet (the test imports their dist). */
export function ensureBuilt(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const [main, app] of [
    [RENDEZVOUS_MAIN, 'apps/rendezvous'],
    [DAEMON_MAIN, 'apps/daemon'],
  ] as const) {
    if (existsSync(main)) continue;
    const built = spawnSync(process.execPath, [tsc, '-p', join(ROOT, app, 'tsconfig.build.json')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (built.status !== 0) throw new Error(`cannot build ${app}: ${built.stdout}${built.stderr}`);
  }
}

export const startRendezvous: typeof startLabRendezvous = startLabRendezvous;

/** A daemon program in a lab namespace, and a raw IPC client on its socket. */
export interface LabDaemon {
  readonly name: string;
  /** Where it runs, and what it was started with: `restartDaemon` starts it again the same way. */
  readonly peer: LabNamespace;
  readonly dir: string;
  readonly extra: readonly string[];
  readonly reflector: boolean;
  readonly process: LabProcess;
  readonly nodeId: number;
  readonly address: string;
  readonly home: string;
  readonly ipc: IpcTestClient;
}

export async function startDaemon(
  lab: NatLab,
  peer: LabNamespace,
  dir: string,
  name: string,
  extra: readonly string[] = [],
  reflector = false,
  main?: string,
): Promise<LabDaemon> {
  const { process, home, socket, nodeId, address } = await startLabDaemon(lab, peer, dir, name, {
    extra,
    reflector,
    ...(main === undefined ? {} : { main }),
  });
  const ipc = await IpcTestClient.connect(socket);
  return {
    name,
    peer,
    dir,
    extra,
    reflector,
    process,
    nodeId,
    address,
    home,
    ipc,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
  what: string,
  everyMs = 150,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function info(daemon: LabDaemon): Promise<Record<string, unknown>> {
  return daemon.ipc.json({ type: 'info' });
}

/** The tunnel's view of `node` from Info's peer_list (PeerInfo). */
export async function peerOf(daemon: LabDaemon, node: number): Promise<Record<string, unknown> | undefined> {
  const list = (await info(daemon)).peer_list as Record<string, unknown>[];
  return list.find((peer) => peer.node_id === node);
}

async function trustedIds(daemon: LabDaemon): Promise<number[]> {
  const reply = await daemon.ipc.json({ type: 'handshake', request: { action: 'trusted' } });
  return (reply.trusted as { node_id: number }[]).map((t) => t.node_id);
}

/**
 * `from` asks `to` for trust; `to` approves once the request arrived (through the registry when `to`
 * is private and unreachable); resolves when `from` holds the approval. Returns how the request went.
 */
export async function trust(from: LabDaemon, to: LabDaemon): Promise<string> {
  const sent = await from.ipc.json({
    type: 'handshake',
    request: { action: 'send', node: to.nodeId, justification: `${from.name} asks ${to.name}` },
  });
  await eventually(
    async () => {
      const pending = await to.ipc.json({ type: 'handshake', request: { action: 'pending' } });
      return (pending.pending as { node_id: number }[]).some((p) => p.node_id === from.nodeId)
        ? true
        : undefined;
    },
    20_000,
    `${to.name} to receive the request`,
  );
  await to.ipc.json({ type: 'handshake', request: { action: 'approve', node: from.nodeId } });
  await eventually(
    async () => ((await trustedIds(from)).includes(to.nodeId) ? true : undefined),
    20_000,
    `${from.name} to learn the approval`,
  );
  return String(sent.via);
}

export async function dial(daemon: LabDaemon, node: number, port: number, ms = 30_000): Promise<number> {
  const reply = await daemon.ipc.request({ type: 'dial', address: { network: 0, node }, port }, ms);
  if (reply.type !== 'dialOk') throw new Error(`dial ${node}:${port} failed: ${JSON.stringify(reply)}`);
  return reply.connId;
}

/** Echo round trips on port 7: every reply equals what was sent. Returns the round-trip times. */
export async function echo(daemon: LabDaemon, node: number, rounds: number): Promise<number[]> {
  const id = await dial(daemon, node, 7);
  const times: number[] = [];
  for (let n = 0; n < rounds; n++) {
    const data = new TextEncoder().encode(`ping ${n} from ${daemon.name}`);
    const started = performance.now();
    daemon.ipc.send({ type: 'send', connId: id, data });
    const back = await daemon.ipc.read(id, data.length, 20_000);
    times.push(performance.now() - started);
    if (!back.equals(Buffer.from(data))) throw new Error(`echo ${n} came back as ${back.toString()}`);
  }
  await daemon.ipc.request({ type: 'close', connId: id });
  return times;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic bytes: SHA-256 in counter mode over the seed (no RNG state to share). */
export function payload(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0, block = 0; at < length; at += 32, block++) {
    createHash('sha256').update(`${seed}:${block}`).digest().copy(out, at);
  }
  return out;
}

/** Deterministic bytes for large files: AES-256-CTR keystream keyed by the seed (fast where SHA-256 blocks are not). */
export function bigPayload(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** The largest file piece that fits one FILE frame under `name` (as pilotctl send-file slices). */
export function filePieceBytes(name: string): number {
  return SERVICE_MAX_PAYLOAD - 2 - Buffer.byteLength(name);
}

/**
 * Sends `file` to `node`'s data exchange (1001) as FILE frames of `pieceBytes` (appended to one file
 * on arrival), calling `onAck(n)` after each acknowledged piece. Resolves once every piece is acked.
 */
export async function sendFile(
  daemon: LabDaemon,
  node: number,
  name: string,
  file: Buffer,
  pieceBytes: number,
  onAck: (acked: number) => Promise<void> | void = () => {},
  ms = 60_000,
): Promise<void> {
  const id = await dial(daemon, node, 1001);
  const pieces: Buffer[] = [];
  for (let at = 0; at < file.length; at += pieceBytes) pieces.push(file.subarray(at, at + pieceBytes));
  const all = Buffer.concat(
    pieces.map((data) =>
      encodeServiceFrame({ type: DataExchangeType.FILE, payload: encodeFilePayload({ name, data }) }),
    ),
  );
  // IPC messages stay under the 1 MiB frame limit; the daemon applies back-pressure by not reading.
  for (let offset = 0; offset < all.length; offset += 60_000) {
    daemon.ipc.send({ type: 'send', connId: id, data: all.subarray(offset, offset + 60_000) });
  }
  const decoder = new ServiceFrameDecoder();
  const deadline = Date.now() + ms;
  let acked = 0;
  while (acked < pieces.length) {
    const m: IpcMessage = await daemon.ipc.next(
      (x) => (x.type === 'recv' || x.type === 'closeOk') && x.connId === id,
      Math.max(1, deadline - Date.now()),
    );
    if (m.type === 'closeOk')
      throw new Error(`the connection closed after ${acked} of ${pieces.length} acks`);
    if (m.type !== 'recv') continue;
    for (const frame of decoder.push(m.data)) {
      const text = new TextDecoder().decode(frame.payload);
      const expected = `ACK FILE ${(pieces[acked] as Buffer).length} bytes`;
      if (text !== expected) throw new Error(`piece ${acked}: "${text}", expected "${expected}"`);
      acked++;
      await onAck(acked);
    }
  }
  await daemon.ipc.request({ type: 'close', connId: id });
}

/** Waits for the one file in `<home>/received` to reach `bytes`, and returns its SHA-256. */
export async function receivedSha256(daemon: LabDaemon, bytes: number): Promise<string> {
  const dir = join(daemon.home, 'received');
  const path = await eventually(
    () => {
      const names = existsSync(dir) ? readdirSync(dir) : [];
      if (names.length !== 1) return undefined;
      const file = join(dir, names[0] as string);
      return statSync(file).size === bytes ? file : undefined;
    },
    20_000,
    `${bytes} bytes in ${dir}`,
  );
  return sha256(readFileSync(path));
}

/** Stops a daemon program with SIGTERM (it deregisters and exits 0). */
export async function stopDaemon(daemon: LabDaemon): Promise<void> {
  await daemon.ipc.close();
  if (!daemon.process.running) return;
  daemon.process.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    daemon.process.exited,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 8000);
    }),
  ]).finally(() => clearTimeout(timer));
  if (exited === undefined) await daemon.process.kill();
}

/** Stops a daemon with SIGTERM and starts it again with the same PILOT_HOME, socket and flags. */
export async function restartDaemon(lab: NatLab, daemon: LabDaemon): Promise<LabDaemon> {
  await stopDaemon(daemon);
  return startDaemon(lab, daemon.peer, daemon.dir, daemon.name, daemon.extra, daemon.reflector);
}

/** The IPC error code a Dial gets (it must fail), e.g. 7 when a private peer does not trust us. */
export async function refusedDial(daemon: LabDaemon, node: number, port: number): Promise<number> {
  const reply = await daemon.ipc.request({ type: 'dial', address: { network: 0, node }, port }, 30_000);
  if (reply.type === 'dialOk') {
    await daemon.ipc.request({ type: 'close', connId: reply.connId });
    throw new Error(`dial ${node}:${port} from ${daemon.name} was accepted`);
  }
  if (reply.type !== 'error') throw new Error(`unexpected reply ${reply.type}`);
  return reply.code;
}

/** The `outgoing` requests of a daemon's trust.json (ours, not yet answered). */
export function outgoingRequests(daemon: LabDaemon): number[] {
  const path = join(daemon.home, 'trust.json');
  if (!existsSync(path)) return [];
  const file = JSON.parse(readFileSync(path, 'utf8')) as { outgoing?: { node_id: number }[] };
  return (file.outgoing ?? []).map((o) => o.node_id);
}

/**
 * Sends `text` as a datagram (SendTo) from `from` to `to`'s `port` until `to` gets it (RecvFrom):
 * datagrams are unreliable, so a loss is retried. Returns the RecvFrom.
 */
export async function datagram(
  from: LabDaemon,
  to: LabDaemon,
  port: number,
  text: string,
  ms = 20_000,
): Promise<Extract<IpcMessage, { type: 'recvFrom' }>> {
  const data = new TextEncoder().encode(text);
  const arrived = to.ipc.next(
    (m) => m.type === 'recvFrom' && m.localPort === port && Buffer.from(m.data).equals(Buffer.from(data)),
    ms,
  );
  let got = false;
  void arrived.then(
    () => {
      got = true;
    },
    () => {},
  );
  const deadline = Date.now() + ms;
  while (!got && Date.now() < deadline) {
    from.ipc.send({ type: 'sendTo', address: { network: 0, node: to.nodeId }, port, data });
    await Promise.race([arrived.catch(() => {}), sleep(500)]);
  }
  const m = await arrived;
  if (m.type !== 'recvFrom') throw new Error(`unexpected ${m.type}`);
  return m;
}

/** One event-stream (1002) connection seen through IPC: events are written and read with the wire codec. */
export class EventConnection {
  readonly #daemon: LabDaemon;
  readonly connId: number;
  readonly #decoder = new ServiceEventDecoder();
  readonly #events: ServiceEvent[] = [];

  private constructor(daemon: LabDaemon, connId: number) {
    this.#daemon = daemon;
    this.connId = connId;
  }

  /** Dials `node`'s event stream and sends the subscription (the first event of a connection). */
  static async open(daemon: LabDaemon, node: number, filter: string): Promise<EventConnection> {
    const connection = new EventConnection(daemon, await dial(daemon, node, 1002));
    connection.publish(filter, '');
    return connection;
  }

  publish(topic: string, text: string): void {
    const data = encodeServiceEvent({ topic, payload: new TextEncoder().encode(text) });
    this.#daemon.ipc.send({ type: 'send', connId: this.connId, data });
  }

  /** The next event received on this connection. */
  async next(ms = 20_000): Promise<ServiceEvent> {
    const deadline = Date.now() + ms;
    while (this.#events.length === 0) {
      const m = await this.#daemon.ipc.next(
        (x) => x.type === 'recv' && x.connId === this.connId,
        Math.max(1, deadline - Date.now()),
      );
      if (m.type === 'recv') this.#events.push(...this.#decoder.push(m.data));
    }
    return this.#events.shift() as ServiceEvent;
  }

  /** Bytes received and not yet taken as events (the IPC client keeps unclaimed messages). */
  pendingBytes(): number {
    return this.#daemon.ipc.messages
      .filter((m) => m.type === 'recv' && m.connId === this.connId)
      .reduce((n, m) => n + (m.type === 'recv' ? m.data.length : 0), this.#events.length);
  }

  async close(): Promise<void> {
    await this.#daemon.ipc.request({ type: 'close', connId: this.connId });
  }
}

export const eventText = (event: ServiceEvent): string => new TextDecoder().decode(event.payload);
