import { findNodeCrypto } from './_node-crypto.js';
import type { BackendName, CryptoBackend } from './backend.js';
import { nobleBackend } from './backend-noble.js';
import { createNodeBackend } from './backend-node.js';
import { CryptoErrorCode, cryptoError } from './errors.js';

// Decided once, when the module loads: the runtime either has node:crypto or it does not.
const nodeCrypto = findNodeCrypto();
const nodeBackend: CryptoBackend | undefined =
  nodeCrypto === undefined ? undefined : createNodeBackend(nodeCrypto);
const defaultBackend: CryptoBackend = nodeBackend ?? nobleBackend;

/** The backend used when a call does not name one: 'node' wherever node:crypto is available. */
export function cryptoBackend(): BackendName {
  return defaultBackend.name;
}

/** The backends this runtime can run ('noble' always; 'node' first where available). */
export function availableBackends(): BackendName[] {
  return nodeBackend === undefined ? ['noble'] : ['node', 'noble'];
}

/**
 * The implementation behind `name` (the default when omitted). Asking for 'node' where node:crypto
 * is missing is CRYPTO_BACKEND_UNAVAILABLE rather than a silent fallback: a caller who names a
 * backend wants that one.
 */
export function getCryptoBackend(name?: BackendName): CryptoBackend {
  if (name === undefined) return defaultBackend;
  if (name === 'noble') return nobleBackend;
  if (name === 'node') {
    if (nodeBackend === undefined) {
      throw cryptoError(CryptoErrorCode.BACKEND_UNAVAILABLE, 'node:crypto is not available in this runtime');
    }
    return nodeBackend;
  }
  throw cryptoError(CryptoErrorCode.BACKEND_UNAVAILABLE, `unknown crypto backend ${JSON.stringify(name)}`);
}
