import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
});
