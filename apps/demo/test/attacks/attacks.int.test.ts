// The attack suite of SECURITY.md: real programs (pilot-rendezvous, daemons started by pilotctl)
// and attacker processes of our own making that speak the wire formats (registry-mitm.mjs,
// impostor.mjs, registry-attacker.mjs, a squatter on the IPC socket). Each case is an attack that
// succeeded before the change it proves.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appendPilaExtension,
  createAuthKeyExchange,
  createTunnelSealer,
  generateIdentity,
  identityFromSeed,
  x25519PublicKey,
} from '@pilot/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Envelope, pilotctlJson } from '../../src/pilotctl-json.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..', '..', '..');
const RENDEZVOUS = join(ROOT, 'apps', 'rendezvous', 'dist', 'main.js');

const dir = mkdtempSync(join(tmpdir(), 'pilot-attacks-'));
const children: ChildProcess[] = [];
const daemonPids: number[] = [];

/** A child whose stdout lines are JSON; `next(pred)` waits for a line that matches. */
function program(
  command: string,
  args: readonly string[],
  options: { uid?: number; gid?: number; stdin?: boolean } = {},
) {
  const { stdin, ...ids } = options;
  const child = spawn(command, args, { stdio: [stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'], ...ids });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let newline = out.indexOf('\n');
    while (newline >= 0) {
      const line = out.slice(0, newline).trim();
      out = out.slice(newline + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
      newline = out.indexOf('\n');
    }
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  return {
    child,
    lines,
    stderr: () => err,
    async next(match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`${args[0]}: no matching line (stderr: ${err})`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 200);
        });
      }
    },
  };
}

function pilotctl(
  home: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Envelope> {
  return pilotctlJson({ PILOT_HOME: home, PILOT_SOCKET: join(home, 'pilot.sock'), ...env }, args);
}

async function ok(home: string, args: readonly string[]): Promise<Record<string, unknown>> {
  const reply = await pilotctl(home, args);
  if (reply.status !== 'ok') throw new Error(`pilotctl ${args.join(' ')}: ${reply.code}: ${reply.message}`);
  return reply.data;
}

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((wait) => setTimeout(wait, 250));
  }
}

const sha256 = (base64: string): string =>
  createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');

let registry = '';
let beacon = '';
let fingerprint = '';
const [registryHost, registryPort] = ['127.0.0.1', () => Number(registry.split(':')[1])];

/** Starts a daemon for `name` through pilotctl; returns its start data. */
async function startDaemon(name: string, link: readonly string[], extra: readonly string[] = []) {
  const home = join(dir, name);
  const reply = await pilotctl(home, [
    'daemon',
    'start',
    '--registry',
    link[0] ?? registry,
    ...link.slice(1),
    '--beacon',
    beacon,
    '--listen',
    '127.0.0.1:0',
    '--hostname',
    `agent-${name}`,
    '--handshake-poll',
    '300ms',
    ...extra,
  ]);
  if (reply.status === 'ok') daemonPids.push(Number(reply.data.pid));
  return { home, reply };
}

beforeAll(async () => {
  const rv = program(process.execPath, [
    RENDEZVOUS,
    '--registry-addr',
    '127.0.0.1:0',
    '--beacon-addr',
    '127.0.0.1:0',
    '--store',
    join(dir, 'rendezvous', 'registry.db'),
    '--log-format',
    'json',
  ]);
  const announce = await rv.next((line) => typeof line.registry === 'string');
  registry = String(announce.registry);
  beacon = String(announce.beacon);
  fingerprint = String(announce.fingerprint);
}, 30_000);

afterAll(async () => {
  for (const pid of daemonPids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await new Promise((wait) => setTimeout(wait, 300));
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('attacks on who is on the other end', () => {
  let alpha = '';
  let beta = { id: 0, publicKey: '' };

  it('1: a proxy swapping public_key in lookups — TLS pinning refuses the registry; over plaintext the pinned key refuses the impostor', async () => {
    const pinned = ['', '--registry-fingerprint', fingerprint];
    const a = await startDaemon('alpha', [registry, ...pinned.slice(1)]);
    const b = await startDaemon('beta', [registry, ...pinned.slice(1)]);
    expect(a.reply.status).toBe('ok');
    expect(b.reply.status).toBe('ok');
    alpha = a.home;
    const alphaInfo = await ok(a.home, ['info']);
    const betaInfo = await ok(b.home, ['info']);
    expect(alphaInfo.registry_tls).toBe(true);
    beta = { id: Number(betaInfo.node_id), publicKey: String(betaInfo.public_key) };
    // Mutual trust: alpha asks, beta approves; alpha pins beta's key.
    await ok(a.home, ['handshake', String(beta.id), 'attack suite']);
    await eventually(async () => {
      const pending = await pilotctl(b.home, ['pending']);
      return pending.status === 'ok' &&
        JSON.stringify(pending.data).includes(`"node_id":${alphaInfo.node_id}`)
        ? true
        : undefined;
    }, "beta's pending request");
    await ok(b.home, ['approve', String(alphaInfo.node_id)]);
    const trusted = await eventually(async () => {
      const reply = await ok(a.home, ['trust']);
      const list = reply.trusted as { node_id: number; mutual: boolean; key_fingerprint: string }[];
      return list.find((t) => t.node_id === beta.id && t.mutual);
    }, 'alpha trusting beta');
    expect(trusted.key_fingerprint).toBe(sha256(beta.publicKey));

    // The attacker: its own key, put in place of beta's in every lookup by a proxy on the registry path.
    const seed = randomBytes(32);
    const impostorKey = Buffer.from(identityFromSeed(seed).publicKey).toString('base64');
    const mitm = program(process.execPath, [
      join(HERE, 'registry-mitm.mjs'),
      registryHost,
      String(registryPort()),
      JSON.stringify({ swapKey: { node_id: beta.id, public_key: impostorKey }, hostname: 'evil' }),
    ]);
    const proxy = `127.0.0.1:${String((await mitm.next((line) => typeof line.port === 'number')).port)}`;

    // (a) TLS with the registry's fingerprint pinned: the proxy's certificate is refused before a request.
    const gamma = await startDaemon('gamma', [proxy, '--registry-fingerprint', fingerprint]);
    expect(gamma.reply.status).toBe('error');
    expect(gamma.reply.status === 'error' ? gamma.reply.message : '').toMatch(
      /DIR_PIN_MISMATCH|does not match/,
    );
    expect(mitm.lines.some((line) => line.rewrote !== undefined)).toBe(false);

    // (b) Plaintext (asked for): alpha now reaches the registry through the proxy, which lies about
    // beta's key, and the impostor sends alpha a PILA signed with its own key as beta.
    await ok(a.home, ['daemon', 'stop']);
    const again = await startDaemon('alpha', [proxy, '--registry-tls=false']);
    expect(again.reply.status).toBe('ok');
    const info = await ok(a.home, ['info']);
    expect(info.registry_tls).toBe(false);
    const udpPort = String(info.udp_listen).split(':')[1] ?? '0';
    const impostor = program(process.execPath, [
      join(HERE, 'impostor.mjs'),
      seed.toString('hex'),
      String(beta.id),
      '127.0.0.1',
      udpPort,
    ]);
    await impostor.next((line) => typeof line.sent === 'number' && line.sent >= 3);
    // The proxy did swap the key (the attack ran), and alpha refused it for the pinned one.
    await mitm.next((line) => line.rewrote === 'public_key');
    const refused = await eventually(async () => {
      const now = await ok(a.home, ['info']);
      return Number(now.keys_refused) >= 1 ? now : undefined;
    }, 'alpha refusing the swapped key');
    await impostor.next((line) => typeof line.sent === 'number' && line.sent >= 8);
    const final = await ok(a.home, ['info']);
    const peers = (final.peer_list ?? []) as { node_id: number; authenticated: boolean }[];
    // Before: the impostor's PILA verified against the swapped key and it was beta, authenticated.
    expect(peers.filter((p) => p.node_id === beta.id && p.authenticated)).toEqual([]);
    expect(Number(refused.keys_refused)).toBeGreaterThanOrEqual(1);
    impostor.child.kill('SIGTERM');

    // 4: a value tampered under a valid fresh signature — the proxy rewrites set_hostname on the way.
    const renamed = await pilotctl(a.home, ['set-hostname', 'alpha-renamed']);
    const rewrite = await mitm.next((line) => line.rewrote === 'set_hostname');
    expect(rewrite.version).toBe(2);
    expect(renamed.status).toBe('error');
    const view = program(process.execPath, [
      join(HERE, 'registry-attacker.mjs'),
      registryHost,
      String(registryPort()),
      fingerprint,
      'lookup',
      String(info.node_id),
    ]);
    const seen = await view.next((line) => line.hostname !== undefined || line.error !== undefined);
    // Before: the registry stored "evil" under alpha's valid signature.
    expect(seen.hostname).toBe('agent-alpha');
  }, 180_000);

  it('2: node-ID takeover through owner recovery is refused', async () => {
    const victim = await startDaemon(
      'delta',
      [registry, '--registry-fingerprint', fingerprint],
      ['--owner', 'victim@example.com'],
    );
    expect(victim.reply.status).toBe('ok');
    const victimId = Number(victim.reply.status === 'ok' ? victim.reply.data.node_id : 0);
    // The victim goes away (deregisters): before, its ID was free for anyone naming its owner.
    await ok(victim.home, ['daemon', 'stop']);
    const attacker = program(process.execPath, [
      join(HERE, 'registry-attacker.mjs'),
      registryHost,
      String(registryPort()),
      fingerprint,
      'takeover',
      'victim@example.com',
    ]);
    const outcome = await attacker.next(() => true);
    expect(outcome.error).toBeUndefined();
    expect(outcome.node_id).not.toBe(victimId);
  }, 60_000);

  it('3: a unilateral report_trust then resolve of a private node is refused', async () => {
    expect(beta.id).toBeGreaterThan(0);
    const attacker = program(process.execPath, [
      join(HERE, 'registry-attacker.mjs'),
      registryHost,
      String(registryPort()),
      fingerprint,
      'unilateral',
      String(beta.id),
    ]);
    const outcome = await attacker.next(() => true);
    expect(outcome.reported).toBe(true);
    // Before: resolve_ok with beta's IP:port.
    expect(outcome.resolved).toBeUndefined();
    expect(outcome.refused).toBe('DIR_RESOLVE_DENIED');
  }, 60_000);

  it.skipIf(process.getuid?.() !== 0)(
    '5: pilotctl refuses a squatted IPC socket',
    async () => {
      // A directory everyone may write to, as /tmp is.
      const squatDir = mkdtempSync(join(tmpdir(), 'pilot-squat-'));
      chmodSync(squatDir, 0o777);
      const path = join(squatDir, 'pilot.sock');
      // Another user (nobody) got there first and poses as the daemon.
      const squatter = program(
        process.execPath,
        [
          '-e',
          `const net=require('node:net');let n=0;const s=net.createServer(c=>c.on('data',d=>{n+=d.length;process.stdout.write(JSON.stringify({heard:n})+'\\n')}));s.listen(process.argv[1],()=>{require('node:fs').chmodSync(process.argv[1],0o777);process.stdout.write('{"ready":true}\\n')})`,
          path,
        ],
        { uid: 65534, gid: 65534 },
      );
      await squatter.next((line) => line.ready === true);
      const reply = await pilotctl(alpha, ['info'], { PILOT_SOCKET: path });
      expect(reply.status).toBe('error');
      expect(reply.status === 'error' ? reply.message : '').toContain('belongs to uid 65534');
      await new Promise((wait) => setTimeout(wait, 200));
      // Before: pilotctl sent its request and printed whatever the squatter answered.
      expect(squatter.lines.some((line) => line.heard !== undefined)).toBe(false);
      squatter.child.kill('SIGKILL');
      rmSync(squatDir, { recursive: true, force: true });
    },
    30_000,
  );

  /**
   * Two daemons (fresh names, homes and keys) talk through a tap that records every datagram between
   * them: beta announces the tap as its endpoint and neither uses a beacon, so no punch moves the path
   * around it. Alpha dials beta's echo port with a marker; both daemons are stopped; then an attacker
   * process holding both daemons' static X25519 keys (`--tunnel-key-file`) tries to read the capture.
   */
  async function transcriptAttack(tag: string, extra: readonly string[]) {
    // One tap in front of each daemon, announced as its endpoint: whoever starts a contact, every
    // datagram between them crosses a tap.
    const openTap = async (name: string) => {
      const capture = join(dir, `transcript-${tag}-${name}.jsonl`);
      const tap = program(process.execPath, [join(HERE, 'transcript-tap.mjs'), capture], { stdin: true });
      const port = Number((await tap.next((line) => typeof line.port === 'number')).port);
      return { capture, tap, port };
    };
    const start = async (name: string, tapPort: number, more: readonly string[]) => {
      const home = join(dir, `${name}-${tag}`);
      const reply = await pilotctl(home, [
        'daemon',
        'start',
        '--registry',
        registry,
        '--registry-fingerprint',
        fingerprint,
        '--listen',
        '127.0.0.1:0',
        '--endpoint',
        `127.0.0.1:${tapPort}`,
        '--hostname',
        `${name}-${tag}`,
        '--handshake-poll',
        '300ms',
        '--tunnel-key-file',
        join(home, 'tunnel-key.json'),
        ...extra,
        ...more,
      ]);
      if (reply.status !== 'ok') throw new Error(`${name}: ${reply.code}: ${reply.message}`);
      daemonPids.push(Number(reply.data.pid));
      const udp = String((await ok(home, ['info'])).udp_listen);
      return { home, id: Number(reply.data.node_id), udpPort: udp.split(':').pop() ?? '0' };
    };
    const taps = [await openTap('alpha'), await openTap('beta')] as const;
    const a = await start('alpha6', taps[0].port, []);
    const b = await start('beta6', taps[1].port, ['--trust-auto-approve']);
    for (const [tap, daemon] of [
      [taps[0], a],
      [taps[1], b],
    ] as const) {
      tap.tap.child.stdin?.write(`upstream 127.0.0.1:${daemon.udpPort}\n`);
      await tap.tap.next((line) => typeof line.upstream === 'string');
    }
    await ok(a.home, ['handshake', String(b.id), 'attack 6']);
    await eventually(async () => {
      const list = (await ok(a.home, ['trust'])).trusted as { node_id: number; mutual: boolean }[];
      return list.find((t) => t.node_id === b.id && t.mutual);
    }, 'alpha trusting beta');
    const marker = `attack-6-marker-${tag}-${randomBytes(6).toString('hex')}`;
    const echoed = await ok(a.home, ['send', String(b.id), '7', '--data', marker]);
    expect(echoed.response).toBe(marker);
    const peer = ((await ok(a.home, ['info'])).peer_list as Record<string, unknown>[]).find(
      (p) => p.node_id === b.id,
    );
    await ok(a.home, ['daemon', 'stop']);
    await ok(b.home, ['daemon', 'stop']);
    for (const tap of taps) tap.tap.child.kill('SIGTERM');
    // After the session: the attacker has the transcript and both static keys.
    const attacker = program(process.execPath, [
      join(HERE, 'transcript-decrypt.mjs'),
      taps.map((tap) => tap.capture).join(','),
      marker,
      join(a.home, 'tunnel-key.json'),
      join(b.home, 'tunnel-key.json'),
    ]);
    const result = await attacker.next((line) => typeof line.opened === 'number');
    console.log('ATTACK6', tag, JSON.stringify(result), JSON.stringify(peer));
    return { result, peer };
  }

  it('6: after a session, the static keys alone do not decrypt a captured transcript', async () => {
    // Before (what the spec's static keys give, and what a reference peer still gets): the same
    // attacker reads everything.
    const before = await transcriptAttack('static', ['--forward-secrecy=false']);
    expect(before.peer).toMatchObject({ forward_secret: false });
    expect(before.result.pils).toBeGreaterThan(4);
    expect(before.result.opened).toBe(before.result.pils);
    expect(before.result.marker).toBe(true);
    // After: forward-secret sessions between pilot-ts daemons; the ephemeral keys are gone.
    const after = await transcriptAttack('fs', []);
    expect(after.peer).toMatchObject({ forward_secret: true });
    // Daemons also negotiate large-datagrams by default: forward secrecy is what this attack is about.
    expect(after.peer?.capabilities).toContain('forward-secrecy');
    expect(after.result.pils).toBeGreaterThan(4);
    expect(after.result.pilx).toBeGreaterThan(0);
    expect(after.result.ephemerals).toBeGreaterThanOrEqual(2);
    expect(after.result.opened).toBe(0);
    expect(after.result.marker).toBe(false);
  }, 120_000);

  it('6 (control): given the one secret it lacks (ee), the same attacker reads a forward-secret session', async () => {
    const vector = JSON.parse(
      readFileSync(join(ROOT, 'packages', 'crypto', 'test', 'vectors', 'pilot-ts-fs.json'), 'utf8'),
    ).vectors[0] as Record<string, string | number>;
    const hex = (name: string) => Uint8Array.from(Buffer.from(String(vector[name]), 'hex'));
    const [idLow, idHigh] = [generateIdentity(), generateIdentity()];
    const sLow = hex('lowStaticPrivate');
    const sHigh = hex('highStaticPrivate');
    const pila = (id: typeof idLow, node: number, key: Uint8Array, ephemeral: Uint8Array) =>
      appendPilaExtension(
        idLow === id ? idLow : idHigh,
        createAuthKeyExchange(id, node, x25519PublicKey(key)),
        {
          capabilities: 1,
          timestamp: 1n,
          ephemeral,
          echo: undefined,
        },
      );
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(Number(vector.idLowToHigh));
    const marker = 'attack-6-control-marker';
    const sealed = createTunnelSealer({ key: hex('keyLowToHigh'), senderNode: 1, prefix }).seal(
      new TextEncoder().encode(`${'x'.repeat(34)}${marker}`),
    );
    const capture = join(dir, 'transcript-control.jsonl');
    const frames = [
      pila(idLow, 1, sLow, hex('lowEphemeralPublic')),
      pila(idHigh, 2, sHigh, hex('highEphemeralPublic')),
      sealed,
    ];
    writeFileSync(
      capture,
      frames.map((f) => `${JSON.stringify({ hex: Buffer.from(f).toString('hex') })}\n`).join(''),
    );
    const keys = [sLow, sHigh].map((key, i) => {
      const file = join(dir, `control-key-${i}.json`);
      writeFileSync(file, JSON.stringify({ private_key: Buffer.from(key).toString('base64') }));
      return file;
    });
    const run = async (env: Record<string, string>) => {
      const child = spawn(
        process.execPath,
        [join(HERE, 'transcript-decrypt.mjs'), capture, marker, ...keys],
        {
          env: { ...process.env, ...env },
        },
      );
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      await new Promise((done) => child.once('exit', done));
      return JSON.parse(out.trim()) as { opened: number; marker: boolean };
    };
    expect(await run({})).toMatchObject({ opened: 0, marker: false });
    const ee = String(vector.ikm).slice(0, 64);
    expect(await run({ TRANSCRIPT_CONTROL_EE: ee })).toMatchObject({ opened: 1, marker: true });
  }, 30_000);
});
