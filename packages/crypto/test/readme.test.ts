// The README's example is real code: extract it and run it against the built package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('the README example runs and prints what its comments say', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code!], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  });
  expect(out).toContain('identity file ok: true');
  expect(out).toMatch(/backend: (native|node) frame bytes: 75 opened: 39/);
  expect(out).toContain('replay: CRYPTO_REPLAY');
});
