import fc from 'fast-check';
import type { Address, PacketInit, SackBlock, TunnelFrame } from '../src/index.js';

export const u16 = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff });
export const u32 = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff_ffff });

export const address = (): fc.Arbitrary<Address> => fc.record({ network: u16(), node: u32() });

const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength, maxLength });

/** Every field over its whole domain; payloads mostly small, sometimes up to the 65535 limit. */
export const packet = (): fc.Arbitrary<Required<PacketInit>> =>
  fc.record({
    version: fc.constant(1),
    flags: fc.integer({ min: 0, max: 15 }),
    protocol: fc.integer({ min: 0, max: 255 }),
    src: address(),
    dst: address(),
    srcPort: u16(),
    dstPort: u16(),
    seq: u32(),
    ack: u32(),
    window: u16(),
    payload: fc.oneof(
      { weight: 20, arbitrary: bytes(0, 64) },
      { weight: 4, arbitrary: bytes(0, 1500) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 60_000, max: 65_535 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
      },
    ),
  });

export const tunnelFrame = (): fc.Arbitrary<TunnelFrame> =>
  fc.oneof(
    packet().map((p): TunnelFrame => {
      // Any bytes of header size or more are a valid PILT body for the frame codec.
      const body = new Uint8Array(34 + (p.payload.length % 100));
      body.set(p.payload.subarray(0, body.length - 34), 34);
      return { kind: 'plaintext', packet: body };
    }),
    fc.record({
      kind: fc.constant('encrypted' as const),
      senderNode: u32(),
      nonce: bytes(12, 12),
      ciphertext: bytes(16, 200),
    }),
    fc.record({
      kind: fc.constant('key-exchange' as const),
      senderNode: u32(),
      x25519PublicKey: bytes(32, 32),
    }),
    fc.record({
      kind: fc.constant('auth-key-exchange' as const),
      senderNode: u32(),
      x25519PublicKey: bytes(32, 32),
      ed25519PublicKey: bytes(32, 32),
      signature: bytes(64, 64),
    }),
    fc.constant({ kind: 'punch' as const }),
  );

/** A block that covers 1..2^31-1 bytes, starting anywhere (wrap included). */
export const sackBlock = (): fc.Arbitrary<SackBlock> =>
  fc
    .tuple(u32(), fc.integer({ min: 1, max: 0x7fff_ffff }))
    .map(([left, length]) => ({ left, right: (left + length) >>> 0 }));
