// Finds node:crypto at run time without an import statement, so that bundlers targeting a browser
// see no reference to it and the same entry works everywhere. `process.getBuiltinModule` exists in
// Node ≥ 20.16 / 22.3, Deno and Bun; elsewhere (browsers, older Node) we get undefined and the
// noble backend is used.
import type * as NodeCrypto from 'node:crypto';

interface ProcessLike {
  readonly getBuiltinModule?: (id: string) => unknown;
}

/** node:crypto when the runtime exposes it synchronously, else undefined. `scope` is for tests. */
export function findNodeCrypto(scope: object = globalThis): typeof NodeCrypto | undefined {
  const proc = (scope as { readonly process?: ProcessLike }).process;
  if (proc === undefined || proc === null || typeof proc.getBuiltinModule !== 'function') return undefined;
  try {
    const mod = proc.getBuiltinModule('node:crypto') as typeof NodeCrypto | undefined;
    return mod !== undefined && typeof mod.createCipheriv === 'function' ? mod : undefined;
  } catch {
    return undefined;
  }
}
