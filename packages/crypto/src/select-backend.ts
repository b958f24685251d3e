import { findNativeAead, nativeAead } from './_native-aead.js';
import { findNodeCrypto } from './_node-crypto.js';
import type { BackendName, CryptoBackend } from './backend.js';
import { nobleBackend } from './backend-noble.js';
import { createNodeBackend } from './backend-node.js';
import { CryptoErrorCode, cryptoError } from './errors.js';

// Decided once, when the module loads: the runtime either has node:crypto (and the addon) or not.
const nodeCrypto = findNodeCrypto();
const nodeBackend: CryptoBackend | undefined =
  nodeCrypto === undefined ? undefined : createNodeBackend(nodeCrypto);
const addon = nodeBackend === undefined ? undefined : findNativeAead();
const nativeBackend: CryptoBackend | undefined =
  nodeBackend === undefined || addon === undefined
    ? undefined
    : { ...nodeBackend, name: 'native', aes256Gcm: (key) => nativeAead(addon, key) };
const defaultBackend: CryptoBackend = nativeBackend ?? nodeBackend ?? nobleBackend;

/** The backend used when a call does not name one: the first of `availableBackends()`. */
export function cryptoBackend(): BackendName {
  return defaultBackend.name;
}

/** The backends this runtime can run, fastest first ('native' where built, 'node', 'noble' always). */
export function availableBackends(): BackendName[] {
  return [nativeBackend, nodeBackend, nobleBackend].flatMap((b) => (b === undefined ? [] : [b.name]));
}

/**
 * The implementation behind `name` (the default when omitted). Asking for one this runtime lacks is
 * CRYPTO_BACKEND_UNAVAILABLE rather than a silent fallback: a caller who names a backend wants that one.
 */
export function getCryptoBackend(name?: BackendName): CryptoBackend {
  if (name === undefined) return defaultBackend;
  if (name === 'noble') return nobleBackend;
  if (name === 'node' || name === 'native') {
    const backend = name === 'node' ? nodeBackend : nativeBackend;
    if (backend === undefined) {
      throw cryptoError(
        CryptoErrorCode.BACKEND_UNAVAILABLE,
        name === 'node'
          ? 'node:crypto is not available in this runtime'
          : 'the native AES-GCM addon is not built or does not load here (see the README: "Backends")',
      );
    }
    return backend;
  }
  throw cryptoError(CryptoErrorCode.BACKEND_UNAVAILABLE, `unknown crypto backend ${JSON.stringify(name)}`);
}
