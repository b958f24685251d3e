// node:crypto found at run time (see _builtin.ts); where it is missing the noble backend is used.
import type * as NodeCrypto from 'node:crypto';
import { findBuiltinModule } from './_builtin.js';

/** node:crypto when the runtime exposes it synchronously, else undefined. `scope` is for tests. */
export function findNodeCrypto(scope: object = globalThis): typeof NodeCrypto | undefined {
  const mod = findBuiltinModule('node:crypto', scope) as typeof NodeCrypto | undefined;
  return mod !== undefined && typeof mod.createCipheriv === 'function' ? mod : undefined;
}
