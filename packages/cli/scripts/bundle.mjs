// pilotctl's executable as one CommonJS file, dist/pilotctl.cjs: after tsc, dist/bin.js and every
// module that all commands need (pilotctl's own, @pilot/wire, the driver of @pilot/daemon) are
// bundled into it. Loading sixty ES modules one by one (resolve, stat, read, compile each), and the
// ES module loader itself, was most of what a cold `pilotctl info` spent beyond Node's own start; one
// CommonJS file skips both (bench/cold-start.mjs measures it). Everything else stays an `import()` resolved
// at run time, loaded only by the commands that use it: @pilot/mcp and the MCP SDK, @pilot/crypto,
// the directory client, the daemon itself (its native addons find their files beside their own
// package). dist/bin.js and the other modules stay as tsc wrote them: `@pilot/cli` as a library
// (runCli) is not bundled.
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

/** Packages inlined into the bundle: what `pilotctl info` loads anyway. */
const INLINE = new Set(['@pilot/wire', '@pilot/daemon/driver']);

const dist = new URL('../dist/', import.meta.url);
const result = await build({
  metafile: true,
  entryPoints: [new URL('bin.js', dist).pathname],
  outfile: new URL('pilotctl.cjs', dist).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // `import()` stays `import()`: the packages it loads are ES modules, which require() cannot load.
  supported: { 'dynamic-import': true },
  // import.meta.url (bin-path.ts) of the bundle is the bundle's own URL.
  define: { 'import.meta.url': '__pilotctl_url' },
  banner: { js: "'use strict';\nconst __pilotctl_url = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [
    {
      name: 'inline-only-the-cold-path',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          INLINE.has(args.path) ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});

// A static import of a package left outside becomes require() in CommonJS, which cannot load an ES
// module (ERR_REQUIRE_ESM on Node 20): such a package must be inlined (INLINE) or import()ed.
const builtins = new Set(builtinModules);
const required = Object.values(result.metafile.inputs)
  .flatMap((input) => input.imports)
  .filter(
    (i) => i.external && i.kind !== 'dynamic-import' && !i.path.startsWith('node:') && !builtins.has(i.path),
  )
  .map((i) => i.path);
if (required.length > 0) {
  console.error(
    `pilotctl bundle: static imports of packages left outside: ${[...new Set(required)].join(', ')}`,
  );
  process.exit(1);
}
