import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built program (turbo builds it before its tests; `pnpm --filter @pilot/daemon-app build` by hand).
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('pilot-daemon', () => {
  it('prints its flags and version', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--registry host:port');
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^pilot-daemon \d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with a hint on a bad flag', () => {
    const bad = run(['--nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown flag --nope');
    expect(bad.stderr).toContain('--help');
  });
});
