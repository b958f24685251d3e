import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `npm run setup` ends with tooling/scripts/link-bins.mjs: the four programs as wrappers in a bin
// directory. Here into a temp dir, then run with a PATH holding only it and the system's /usr/bin
// (no pnpm, no node_modules/.bin), as a newcomer's shell or an agent harness would.
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pilot-bins-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port the OS just handed out (TCP or UDP), free again for the program to bind. */
async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

function sh(command: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('/bin/sh', ['-c', command], {
    env: {
      PATH: `${dir}:/usr/bin:/bin`,
      HOME: dir,
      PILOT_HOME: join(dir, 'home'),
      PILOT_SOCKET: join(dir, 'none.sock'),
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run setup: the programs on the PATH', () => {
  it('links pilotctl, pilot-daemon, pilot-rendezvous and pilot-mcp; each runs by its bare name', () => {
    const linked = spawnSync(
      process.execPath,
      [join(ROOT, 'tooling/scripts/link-bins.mjs'), '--prefix', dir],
      {
        encoding: 'utf8',
      },
    );
    expect(linked.status, linked.stderr).toBe(0);
    expect(linked.stdout).toContain(join(dir, 'pilot-mcp'));
    const context = sh('pilotctl --json context');
    expect(context.status, context.stderr).toBe(0);
    expect(JSON.parse(context.stdout).data.commands.map((c: { name: string }) => c.name)).toContain(
      'mcp tools',
    );
    expect(sh('pilotctl --json info').stderr).toContain('not_running');
    expect(sh('pilot-daemon --help').status).toBe(0);
    expect(sh('pilot-rendezvous --help').status).toBe(0);
    const config = sh('pilot-mcp --print-config claude');
    expect(config.status, config.stderr).toBe(0);
    expect(JSON.parse(config.stdout).mcpServers.pilot.command).toBe('pilot-mcp');
    // Running it again replaces its own wrappers.
    expect(
      spawnSync(process.execPath, [join(ROOT, 'tooling/scripts/link-bins.mjs'), '--prefix', dir]).status,
    ).toBe(0);
  });

  it("the root README's hand-driven commands run as written (ports and paths made private to the test)", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('```sh', readme.indexOf('Then, in one shell'));
    let block = readme.slice(start + 6, readme.indexOf('```', start + 6));
    const [registry, beacon] = [await freePort('tcp'), await freePort('udp')];
    const base = join(dir, 'readme');
    block = block
      .replaceAll('127.0.0.1:9000', `127.0.0.1:${registry}`)
      .replaceAll('127.0.0.1:9001', `127.0.0.1:${beacon}`)
      .replaceAll('/tmp/', `${base}-`)
      // The fingerprint the rendezvous printed, read from its log; the trust request is relayed
      // by the registry, so the ping is retried until it has arrived.
      .replace(/registry\.db &/, `registry.db > ${base}-rv.log 2>&1 &`)
      .replace(
        'export PILOT_REGISTRY_FINGERPRINT=<fingerprint>',
        `for i in $(seq 50); do grep -q fingerprint= ${base}-rv.log && break; sleep 0.2; done\nexport PILOT_REGISTRY_FINGERPRINT=$(grep -o 'fingerprint=[0-9a-f]*' ${base}-rv.log | head -1 | cut -d= -f2)`,
      )
      .replace(
        /^pilotctl ping agent-beta$/m,
        'for i in $(seq 30); do pilotctl ping agent-beta --count 1 && break; sleep 1; done',
      );
    expect(block).toContain('pilotctl ping agent-beta --count 1');
    // Whatever fails, nothing the block started outlives it.
    block = `cleanup() { for n in alpha beta; do PILOT_HOME=${base}-$n PILOT_SOCKET=${base}-$n.sock pilotctl daemon stop >/dev/null 2>&1 || true; done; kill $(jobs -p) 2>/dev/null || true; }\ntrap cleanup EXIT TERM INT\n${block}`;
    const result = spawnSync('/bin/bash', ['-e', '-c', block], {
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/1\/1 replies from 0:0000\.0000\.0002/);
    expect(result.stdout).toContain('"command": "pilotctl"');
  }, 120_000);
});
