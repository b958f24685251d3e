// Builds dist/native/aes256gcm.node, the optional AES-256-GCM addon (native/aes256gcm.c), with the
// machine's C compiler against Node's own headers and the OpenSSL that Node exports. Never fails
// the build: where there is no compiler or no headers it says why, and the package uses node:crypto.
// `node scripts/build-native.mjs --check` prints the plan as JSON without building.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = join(PACKAGE, 'native', 'aes256gcm.c');
export const NATIVE_OUTPUT = join(PACKAGE, 'dist', 'native', 'aes256gcm.node');

/** Where Node's headers are: next to the running node (an installed prefix or a release tarball). */
function nodeIncludeDir() {
  const candidates = [
    process.env.PILOT_NODE_INCLUDE,
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.find(
    (dir) =>
      dir !== undefined && existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'openssl', 'evp.h')),
  );
}

function findCompiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' });
    if (probe.status === 0) return cc;
  }
  return undefined;
}

/** What a build would do here, or why it cannot: { ok, reason?, cc?, include?, flags? }. */
export function nativeBuildPlan() {
  if (process.env.PILOT_CRYPTO_NATIVE === '0') return { ok: false, reason: 'PILOT_CRYPTO_NATIVE=0' };
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    return { ok: false, reason: `no native build on ${process.platform}` };
  }
  if (process.config.variables.node_shared_openssl) {
    return {
      ok: false,
      reason: 'this Node links a shared OpenSSL whose headers may differ from the ones it ships',
    };
  }
  const include = nodeIncludeDir();
  if (include === undefined)
    return { ok: false, reason: "Node's headers (node_api.h, openssl/evp.h) were not found" };
  const cc = findCompiler();
  if (cc === undefined) return { ok: false, reason: 'no C compiler (cc, gcc or clang)' };
  // Node resolves the OpenSSL and N-API symbols when it loads the addon.
  const link =
    process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared', '-fPIC'];
  return { ok: true, cc, include, flags: ['-O2', '-std=c11', '-Wall', '-Wextra', ...link] };
}

function build() {
  const plan = nativeBuildPlan();
  if (!plan.ok) {
    console.log(`@pilot/crypto: native AES-GCM not built (${plan.reason}); node:crypto will be used`);
    return;
  }
  mkdirSync(dirname(NATIVE_OUTPUT), { recursive: true });
  const temporary = `${NATIVE_OUTPUT}.${process.pid}.tmp`;
  const result = spawnSync(plan.cc, [...plan.flags, `-I${plan.include}`, SOURCE, '-o', temporary], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    rmSync(temporary, { force: true });
    const detail = (result.stderr || result.error?.message || '').trim().split('\n').slice(0, 5).join('\n');
    console.log(`@pilot/crypto: native AES-GCM failed to build; node:crypto will be used\n${detail}`);
    return;
  }
  // Renamed into place so that a process loading the addon never sees half a file.
  renameSync(temporary, NATIVE_OUTPUT);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) console.log(JSON.stringify(nativeBuildPlan()));
  else build();
}
