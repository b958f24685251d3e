// Puts pilotctl, pilot-daemon, pilot-rendezvous and pilot-mcp on the PATH (after a build): a small
// shell wrapper per program, pointing at this checkout's built file with this Node, so they work
// from any directory and for agent harnesses that start `pilot-mcp` with a bare PATH.
// Where: --prefix DIR (or $PILOT_BIN_DIR), else npm's global bin directory when it is writable,
// else ~/.local/bin. It only replaces files it wrote itself.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

const MARKER = '# written by pilot-ts tooling/scripts/link-bins.mjs';

export const PROGRAMS = {
  pilotctl: 'packages/cli/dist/pilotctl.cjs',
  'pilot-daemon': 'apps/daemon/dist/main.js',
  'pilot-rendezvous': 'apps/rendezvous/dist/main.js',
  'pilot-mcp': 'packages/mcp/dist/tools/bin.js',
};

function writable(dir) {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function npmGlobalBin() {
  const result = spawnSync('npm', ['prefix', '-g'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const prefix = result.stdout.trim();
  return prefix === '' ? undefined : process.platform === 'win32' ? prefix : join(prefix, 'bin');
}

export function chooseBinDir(args, env) {
  const at = args.indexOf('--prefix');
  if (at >= 0 && args[at + 1] !== undefined) return args[at + 1];
  if (env.PILOT_BIN_DIR) return env.PILOT_BIN_DIR;
  const global = npmGlobalBin();
  if (global !== undefined && writable(global)) return global;
  return join(homedir(), '.local', 'bin');
}

/** Writes the wrappers into `dir`; returns what it wrote and whether `dir` is on the PATH. */
export function linkBins(root, dir, env = process.env) {
  if (!writable(dir)) throw new Error(`cannot write to ${dir} (pass --prefix DIR)`);
  const written = [];
  for (const [name, file] of Object.entries(PROGRAMS)) {
    const target = join(root, file);
    if (!existsSync(target)) throw new Error(`${target} is missing: build first (npm run build)`);
    const path = join(dir, name);
    if (existsSync(path) && !readFileSync(path, 'utf8').includes(MARKER))
      throw new Error(`${path} exists and is not ours: remove it or pass --prefix DIR`);
    const quote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;
    writeFileSync(path, `#!/bin/sh\n${MARKER}\nexec ${quote(process.execPath)} ${quote(target)} "$@"\n`);
    chmodSync(path, 0o755);
    written.push(path);
  }
  const onPath = (env.PATH ?? '').split(delimiter).includes(dir);
  return { written, onPath };
}

// `node tooling/scripts/link-bins.mjs [--prefix DIR]`: the wrappers alone (`npm run setup` also builds).
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { fileURLToPath } = await import('node:url');
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
  const dir = chooseBinDir(process.argv.slice(2), process.env);
  const { written, onPath } = linkBins(root, dir);
  for (const path of written) process.stdout.write(`installed ${path}\n`);
  if (!onPath) process.stdout.write(`${dir} is not on your PATH: add it, e.g. export PATH="${dir}:$PATH"\n`);
}
