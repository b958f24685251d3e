import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MCP_PORT } from '@pilot/mcp';
import { describe, expect, it } from 'vitest';
import { MCP_PORT } from '../src/commands/mcp.js';
import { PILOTCTL_BIN } from './pilotctl-process.js';

const PRELOAD = fileURLToPath(new URL('./fixtures/loaded-modules.cjs', import.meta.url));

interface Loaded {
  readonly status: number | null;
  readonly files: string[];
  readonly builtins: string[];
}

/** Runs the built pilotctl with `args` and reports what it loaded (test/fixtures/loaded-modules.cjs). */
function loadedBy(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', PRELOAD, PILOTCTL_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    let report = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      report += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (status) => {
      try {
        resolve({ status, ...(JSON.parse(report) as { files: string[]; builtins: string[] }) });
      } catch (error) {
        reject(error);
      }
    });
  });
}

// What the cold start of a command that only talks to the daemon must not pay for: the speed itself
// is measured by `pnpm bench` (bench/cold-start.mjs), not here.
describe('the cold start of pilotctl', () => {
  it('loads one file of its own and no module that info does not use', async () => {
    const run = await loadedBy(['--json', 'info'], {
      PILOT_SOCKET: '/nonexistent/pilot.sock',
      PILOT_HOME: '/nonexistent/home',
    });
    expect(run.status).toBe(1);
    // The bundle and nothing else: no other module of ours, no SQLite, no MCP SDK, no crypto.
    expect(run.files).toEqual([PILOTCTL_BIN]);
    for (const heavy of ['crypto', 'child_process', 'zlib', 'worker_threads', 'fs/promises', 'tls']) {
      expect(run.builtins).not.toContain(heavy);
    }
    // No ES module was loaded at all: the loader of ES modules is not started.
    expect(run.builtins.filter((name) => name.startsWith('internal/modules/esm/loader'))).toEqual([]);
  }, 30_000);

  it('keeps the MCP port it shows in help in step with @pilot/mcp', () => {
    expect(MCP_PORT).toBe(DEFAULT_MCP_PORT);
  });
});
