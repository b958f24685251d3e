import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateX25519KeyPair, type X25519KeyPair, x25519PublicKey } from '@pilot/crypto';
import { DaemonErrorCode, daemonError } from './errors.js';
import { ensurePrivateDir, writeFileAtomic } from './files.js';

/**
 * The tunnel's static X25519 key kept in a file (`--tunnel-key-file`), instead of a fresh key per
 * start: `{"private_key": base64(32), "public_key": base64(32)}`, mode 0600, created on first use.
 * Peers then see the same key across restarts. The key in such a file is exactly what forward
 * secrecy protects against: with the spec's static tunnel keys (reference peers), whoever reads it
 * later decrypts traffic captured earlier; with pilot-ts peers' forward-secret sessions, it does not
 * (SECURITY.md, attack 6).
 */
export function loadOrCreateTunnelKey(path: string): { key: X25519KeyPair; created: boolean } {
  if (existsSync(path)) {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { private_key?: unknown };
      if (typeof parsed.private_key !== 'string') throw new Error('private_key missing');
      const privateKey = new Uint8Array(Buffer.from(parsed.private_key, 'base64'));
      if (privateKey.length !== 32) throw new Error(`private_key is ${privateKey.length} bytes, not 32`);
      return { key: { privateKey, publicKey: x25519PublicKey(privateKey) }, created: false };
    } catch (error) {
      throw daemonError(DaemonErrorCode.BAD_OPTION, `cannot use tunnel key file ${path}`, error);
    }
  }
  ensurePrivateDir(dirname(path));
  const key = generateX25519KeyPair();
  const text = JSON.stringify({
    private_key: Buffer.from(key.privateKey).toString('base64'),
    public_key: Buffer.from(key.publicKey).toString('base64'),
  });
  writeFileAtomic(path, `${text}\n`, 0o600);
  return { key, created: true };
}
