#!/usr/bin/env node
// The entry point behind `npm start`, `npm test`, `npm run bench`: it needs nothing but Node 20
// and npm. It installs the pinned pnpm into .bootstrap/ when the machine has no pnpm of that
// version, installs the workspace from the lockfile, then hands the task to turbo.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = rootManifest.packageManager.replace(/^pnpm@/, '');
const bootstrapDir = join(root, '.bootstrap');

const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
  COREPACK_ENABLE_STRICT: '0',
  npm_config_update_notifier: 'false',
};

function log(message) {
  process.stderr.write(`[pilot] ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function pnpmOnPathVersion() {
  const result = spawnSync('pnpm', ['--version'], { cwd: root, env, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function ensurePnpm() {
  const bootstrapBin = join(bootstrapDir, 'node_modules', '.bin');
  env.PATH = `${bootstrapBin}${delimiter}${env.PATH ?? ''}`;
  if (pnpmOnPathVersion() === pnpmVersion) return;
  log(`installing pnpm ${pnpmVersion} into .bootstrap/`);
  mkdirSync(bootstrapDir, { recursive: true });
  const status = run(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--prefix', bootstrapDir, `pnpm@${pnpmVersion}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (status !== 0 || pnpmOnPathVersion() !== pnpmVersion) {
    throw new Error(`could not install pnpm@${pnpmVersion} (npm exited ${status})`);
  }
}

function install() {
  const frozen = existsSync(join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
  const status = run('pnpm', ['install', ...frozen, '--reporter=append-only']);
  if (status !== 0) process.exit(status);
}

function workspacePackageDirs() {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      if (existsSync(join(base, name, 'package.json'))) dirs.push(join(base, name));
    }
  }
  return dirs;
}

function packageHasScript(dir, script) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return Boolean(manifest.scripts?.[script]);
}

// Sums the per-package vitest JSON reports. A package that has a test script but left no report
// (its build failed, or vitest crashed) counts as one failure, so a broken package can never
// vanish from the total.
function summarise() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const rows = [];
  for (const dir of workspacePackageDirs()) {
    if (!packageHasScript(dir, 'test')) continue;
    const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
    const reportPath = join(dir, '.reports', 'vitest.json');
    if (!existsSync(reportPath)) {
      failed += 1;
      rows.push(`${name}: no test report (build or test run failed)`);
      continue;
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    // A file can fail with every test passing (a hook threw, a handle leaked, it did not load):
    // such a file counts as one failure.
    const suiteFailures = (report.testResults ?? []).filter(
      (file) =>
        file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
    ).length;
    passed += report.numPassedTests ?? 0;
    failed += (report.numFailedTests ?? 0) + suiteFailures;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    rows.push(
      `${name}: ${report.numPassedTests} passed, ${(report.numFailedTests ?? 0) + suiteFailures} failed`,
    );
  }
  process.stdout.write(`\n${rows.join('\n')}\n`);
  return { passed, failed, skipped };
}

function clearReports() {
  for (const dir of workspacePackageDirs()) rmSync(join(dir, '.reports'), { recursive: true, force: true });
}

const task = process.argv[2] ?? 'test';
const extra = process.argv.slice(3);
ensurePnpm();
install();

switch (task) {
  case 'test': {
    clearReports();
    const turboArgs = ['exec', 'turbo', 'run', 'test', '--continue', '--output-logs=new-only'];
    if (process.env.CI) turboArgs.push('--cache=local:w', '--concurrency=1');
    const status = run('pnpm', [...turboArgs, ...extra]);
    const { passed, failed, skipped } = summarise();
    const line = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.stdout.write(`${line}\n`);
    process.exit(status !== 0 || failed > 0 ? 1 : 0);
    break;
  }
  case 'build':
    process.exit(run('pnpm', ['exec', 'turbo', 'run', 'build', ...extra]));
    break;
  case 'bench':
    process.exit(
      run('pnpm', ['exec', 'turbo', 'run', 'bench', '--concurrency=1', '--output-logs=full', ...extra]),
    );
    break;
  case 'lint': {
    // Each package type-checks its sources, tests and benchmarks and runs Biome on its files;
    // the root pass covers tooling and apps' shared files.
    const packages = run('pnpm', ['exec', 'turbo', 'run', 'lint', ...extra]);
    const root = run('pnpm', ['exec', 'biome', 'check', 'tooling', '.ci']);
    process.exit(packages || root);
    break;
  }
  case 'start': {
    const build = run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
    if (build !== 0) process.exit(build);
    process.exit(run('pnpm', ['--filter', '@pilot/demo', 'run', 'start', ...extra]));
    break;
  }
  case 'setup': {
    // One command on a fresh machine: install, build, and the four programs on the PATH.
    const build = run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
    if (build !== 0) process.exit(build);
    const { chooseBinDir, linkBins } = await import('./link-bins.mjs');
    const dir = chooseBinDir(extra, process.env);
    const { written, onPath } = linkBins(root, dir);
    for (const path of written) process.stdout.write(`installed ${path}\n`);
    if (!onPath)
      process.stdout.write(`${dir} is not on your PATH: add it, e.g. export PATH="${dir}:$PATH"\n`);
    break;
  }
  default:
    log(`unknown task "${task}" (expected test, build, bench, lint, start or setup)`);
    process.exit(2);
}
