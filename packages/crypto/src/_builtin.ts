// Finds a Node built-in module at run time without an import statement, so that bundlers
// targeting a browser see no reference to it and one entry works everywhere.
// `process.getBuiltinModule` exists in Node ≥ 20.16 / 22.3, Deno and Bun; elsewhere (browsers,
// older Node) the answer is undefined and the caller falls back.

interface ProcessLike {
  readonly getBuiltinModule?: (id: string) => unknown;
}

/** The module `id` (e.g. 'node:crypto') when the runtime exposes it synchronously. `scope` is for tests. */
export function findBuiltinModule(id: string, scope: object = globalThis): unknown {
  const proc = (scope as { readonly process?: ProcessLike }).process;
  if (proc === undefined || proc === null || typeof proc.getBuiltinModule !== 'function') return undefined;
  try {
    return proc.getBuiltinModule(id) ?? undefined;
  } catch {
    return undefined;
  }
}
