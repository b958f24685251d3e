import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs the example of the README's "Messages" section against the built dist/ (the example imports
// '@pilot/wire' by name, which Node resolves to this package through its "exports").
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README, Messages section', () => {
  it('the example runs and prints what its comments say', () => {
    const section = readme.slice(readme.indexOf('### Messages'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    const expected = [...code!.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBe(3);
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', code!], {
      cwd: packageDir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(output.trim().split('\n')).toEqual(expected);
  });
});
