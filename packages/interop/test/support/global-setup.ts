import type { TestProject } from 'vitest/node';
import { buildReference } from './paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The reference's bin directory, or '' when it could not be built. */
    referenceBin: string;
    /** Why the reference could not be built ('' when it was). */
    referenceError: string;
  }
}

/**
 * Builds the reference once for every test file. A failure is handed to the files, whose
 * `beforeAll` throws it: every test then fails with the reason (counted in the run's summary),
 * never a silent skip.
 */
export default async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  try {
    const bin = await buildReference();
    console.log(`[interop] reference binaries in ${bin} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    project.provide('referenceBin', bin);
    project.provide('referenceError', '');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[interop] ${message}`);
    project.provide('referenceBin', '');
    project.provide('referenceError', message);
  }
}

/** The reference's bin directory; throws why it could not be built. */
export function referenceBinOrThrow(bin: string, error: string): string {
  if (error !== '' || bin === '') throw new Error(error || 'interop: the reference was not built');
  return bin;
}
