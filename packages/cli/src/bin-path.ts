import { fileURLToPath } from 'node:url';

/**
 * pilotctl's executable, dist/pilotctl.cjs (scripts/bundle.mjs): this module sits beside it in
 * dist/, and the bundle that inlines this module is that file, so `./pilotctl.cjs` names it either way.
 */
export function pilotctlBin(): string {
  return fileURLToPath(new URL('./pilotctl.cjs', import.meta.url));
}
