import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/interop/test/support/paths.ts). */
export const ROOT: string = fileURLToPath(new URL('../../../../', import.meta.url));
export const PILOTCTL_MAIN: string = join(ROOT, 'packages/cli/dist/pilotctl.cjs');
export const DAEMON_MAIN: string = join(ROOT, 'apps/daemon/dist/main.js');
export const RENDEZVOUS_MAIN: string = join(ROOT, 'apps/rendezvous/dist/main.js');

/**
 * The reference's build script: `../shared/reference/build.sh` beside the repository (CI clones the
 * repository with `shared/` next to it), or `$PILOT_REF_BUILD`.
 */
export function referenceBuildScript(): string {
  return process.env.PILOT_REF_BUILD ?? resolve(ROOT, '..', 'shared', 'reference', 'build.sh');
}

/**
 * Builds the reference (Go 1.23 installed from Debian when root; `$PILOT_REF_DIR`, default
 * /tmp/pilot-reference) and returns its bin directory. Rejects with a message saying why: the
 * suite must fail, never skip, when the reference cannot be built.
 */
export function buildReference(): Promise<string> {
  const script = referenceBuildScript();
  if (!existsSync(script)) {
    return Promise.reject(
      new Error(
        `interop: the reference build script is missing: ${script} (expected ../shared/reference/build.sh beside the repository)`,
      ),
    );
  }
  return new Promise((resolvePath, reject) => {
    execFile('bash', [script], { timeout: 600_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const bin = stdout.trim().split('\n').at(-1) ?? '';
      if (error !== null || !['daemon', 'pilotctl', 'rendezvous'].every((p) => existsSync(join(bin, p)))) {
        reject(
          new Error(
            `interop: could not build the reference implementation with ${script}` +
              ` (${error?.message ?? `no binaries in "${bin}"`}); its output:\n${stderr.slice(-4000)}`,
          ),
        );
        return;
      }
      resolvePath(bin);
    });
  });
}
