import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeIdentityFile, encodeIdentityFile, generateIdentity, type Identity } from '@pilot/crypto';
import { DaemonErrorCode, daemonError } from './errors.js';
import { ensurePrivateDir, writeFileAtomic } from './files.js';

/**
 * The node's Ed25519 identity, from the identity file of the spec notes (mode 0600, directory
 * 0700), created on first start. The same key registers as the same node ID, so the node keeps its
 * address across restarts.
 */
export function loadOrCreateIdentity(path: string): { identity: Identity; created: boolean } {
  if (existsSync(path)) {
    try {
      return { identity: decodeIdentityFile(readFileSync(path, 'utf8')), created: false };
    } catch (error) {
      throw daemonError(DaemonErrorCode.BAD_IDENTITY, `cannot use identity file ${path}`, error);
    }
  }
  ensurePrivateDir(dirname(path));
  const identity = generateIdentity();
  writeFileAtomic(path, encodeIdentityFile(identity), 0o600);
  return { identity, created: true };
}
