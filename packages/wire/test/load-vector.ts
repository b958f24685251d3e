import { readFileSync } from 'node:fs';

/** Reads test/vectors/<name> as JSON; the caller states the shape it expects. */
export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T;
}
