import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The example imports '@pilot/mcp' by name; run from the package directory, Node resolves that to
// this package's own dist/ (self-reference through "exports"), so build before testing.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('the example runs and prints what its comments say', () => {
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    if (code === undefined) throw new Error('no js example in the README');
    const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: packageDir,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(output.trim().split('\n')).toEqual(expected);
  });
});
