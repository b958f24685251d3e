/**
 * The payload of a path MTU probe: a ping (control packet to port 0, spec reference-behaviour
 * §6.10) padded to the size under test. Every Pilot node answers pings, so the probe needs nothing
 * new on the wire; pilot-ts nodes recognise the magic and answer with its first 8 bytes instead of
 * echoing the padding back.
 *
 *   0..3  "PMTU"   4..7  the probed datagram size (u32, informational)   8..  zero padding
 */
const MAGIC = [0x50, 0x4d, 0x54, 0x55] as const; // "PMTU"

/** What a pilot-ts node sends back: the magic and the size. */
export const PROBE_ANSWER_BYTES = 8;

/** A probe payload of `length` bytes for a datagram of `size` bytes. */
export function encodeProbePayload(length: number, size: number): Uint8Array {
  const payload = new Uint8Array(Math.max(length, PROBE_ANSWER_BYTES));
  payload.set(MAGIC, 0);
  new DataView(payload.buffer).setUint32(4, size >>> 0);
  return payload;
}

/** Whether a ping payload (or its answer) starts as a probe's does. */
export function isProbePayload(payload: Uint8Array): boolean {
  return (
    payload.length >= PROBE_ANSWER_BYTES &&
    payload[0] === MAGIC[0] &&
    payload[1] === MAGIC[1] &&
    payload[2] === MAGIC[2] &&
    payload[3] === MAGIC[3]
  );
}
