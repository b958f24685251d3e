// The default entry must load where node:crypto does not exist. Two checks: the built files never
// import a node: module, and a Node process with `process.getBuiltinModule` removed (standing in for
// a browser) falls back to noble and still reproduces the reference vectors.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findNodeCrypto } from '../src/_node-crypto.js';
import { availableBackends, cryptoBackend } from '../src/index.js';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

describe('browser-safe loading', () => {
  it('no built file imports a node: module (only type imports, which are erased)', () => {
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
    expect(files).toContain('index.js');
    for (const file of files) {
      const text = readFileSync(`${dist}${file}`, 'utf8');
      expect(text, file).not.toMatch(/from\s+['"]node:/);
      expect(text, file).not.toMatch(/import\(\s*['"]node:/);
      expect(text, file).not.toMatch(/require\(/);
    }
  });

  it('finds node:crypto here, and nothing in a scope without process.getBuiltinModule', () => {
    // 'native' leads where the addon is built (test/native.test.ts checks when it must be).
    expect(availableBackends().filter((b) => b !== 'native')).toEqual(['node', 'noble']);
    expect(cryptoBackend()).toBe(availableBackends()[0]);
    expect(findNodeCrypto({})).toBeUndefined();
    expect(findNodeCrypto({ process: {} })).toBeUndefined();
    expect(findNodeCrypto({ process: null })).toBeUndefined();
    expect(findNodeCrypto({ process: { getBuiltinModule: () => undefined } })).toBeUndefined();
    expect(
      findNodeCrypto({
        process: {
          getBuiltinModule: () => {
            throw new Error('no');
          },
        },
      }),
    ).toBeUndefined();
  });

  it('without getBuiltinModule the package runs on noble and reproduces the PILS vector', () => {
    const script = `
      delete process.getBuiltinModule;
      const c = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const unhex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
      const key = c.deriveTunnelKey(unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'), unhex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'));
      const s = c.createTunnelSealer({ key, senderNode: 1, prefix: unhex('01020304') });
      let node = 'absent';
      try { c.getCryptoBackend('node'); node = 'present'; } catch (e) { node = e.code; }
      let native = 'absent';
      try { c.getCryptoBackend('native'); native = 'present'; } catch (e) { native = e.code; }
      console.log(JSON.stringify({ backend: c.cryptoBackend(), available: c.availableBackends(), node, native,
        frame: hex(s.seal(unhex('11010000000000000001000000000002c00003e800000000000000000200145ed874'))) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      backend: 'noble',
      available: ['noble'],
      node: 'CRYPTO_BACKEND_UNAVAILABLE',
      native: 'CRYPTO_BACKEND_UNAVAILABLE',
      frame:
        '50494c53000000010102030400000000000000015fcf952c7c62e03c63e28e3d57b851da52b6f8909e7af6a078620a036ee6ea860380e5485bad17db4a6ca076d85bdb11e063',
    });
  });
});
