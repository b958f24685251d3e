import type { Logger } from './logger.js';

/**
 * The seam for the beacon (the UDP endpoint-discovery and relay service that the reference runs in
 * the same process as the registry, default `:9001`). The beacon lives in `@pilot/nat`; when that
 * package exports a beacon server, `loadBeacon` returns a factory that starts it and `main.ts`
 * starts it beside the registry — nothing else here changes. Until then the program is the
 * registry alone, and `--beacon-addr` is accepted (so configurations written for the reference
 * keep working) but not served.
 */
export type BeaconHandle = {
  /** The bound UDP address, as `host:port`. */
  readonly address: string;
  close(): Promise<void>;
};

export type BeaconFactory = (options: {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}) => Promise<BeaconHandle>;

/** The beacon this build can run, if any. */
export function loadBeacon(): BeaconFactory | undefined {
  // Wiring, once @pilot/nat exports it (and is added to package.json):
  //   import { startBeaconServer } from '@pilot/nat';
  //   return async ({ host, port }) => { const b = await startBeaconServer({ host, port }); return { address: …, close: () => b.close() }; };
  return undefined;
}
