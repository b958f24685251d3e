/** The pre-agreed tunnel key of the transport-alone baseline (not a secret: both ends are ours). */
export const BENCH_KEY = new Uint8Array(32).fill(0x5a);
