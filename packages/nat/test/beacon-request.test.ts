import { hostileBasics, hostileVariants, propertyOptions } from '@pilot/testkit';
import { type BeaconMessage, encodeBeaconMessage, isPilotError } from '@pilot/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DISCOVER_PADDED_SIZE,
  decodeBeaconRequest,
  encodePaddedBeaconMessage,
  PUNCH_REQUEST_PADDED_SIZE,
} from '../src/index.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

describe('padded beacon requests', () => {
  it('round-trip discover and punch request, padded or not', () => {
    fc.assert(
      fc.property(u32, u32, u32, fc.boolean(), (node, requester, target, pad) => {
        const messages: Array<[BeaconMessage, number]> = [
          [{ type: 'discover', node }, DISCOVER_PADDED_SIZE],
          [{ type: 'punchRequest', requester, target }, PUNCH_REQUEST_PADDED_SIZE],
        ];
        for (const [message, size] of messages) {
          const bytes = pad ? encodePaddedBeaconMessage(message, size) : encodeBeaconMessage(message);
          expect(bytes.length).toBe(pad ? size : message.type === 'discover' ? 5 : 9);
          const decoded = decodeBeaconRequest(bytes);
          expect(decoded.padded).toBe(pad);
          expect(decoded.message).toEqual(message);
        }
      }),
      propertyOptions(200),
    );
  });

  it('refuses non-zero padding and keeps other messages exact', () => {
    const padded = encodePaddedBeaconMessage({ type: 'discover', node: 1 }, DISCOVER_PADDED_SIZE);
    padded[19] = 1;
    expect(() => decodeBeaconRequest(padded)).toThrowError(
      expect.objectContaining({ code: 'NAT_BAD_PADDING' }),
    );
    const reply = encodePaddedBeaconMessage(
      { type: 'discoverReply', endpoint: { ip: Uint8Array.of(1, 2, 3, 4), port: 5 } },
      20,
    );
    expect(() => decodeBeaconRequest(reply)).toThrowError(
      expect.objectContaining({ code: 'WIRE_LENGTH_MISMATCH' }),
    );
  });

  it('throws nothing but PilotError on hostile input', () => {
    const check = (bytes: Uint8Array): void => {
      try {
        decodeBeaconRequest(bytes);
      } catch (error) {
        expect(isPilotError(error)).toBe(true);
      }
    };
    const valid = encodePaddedBeaconMessage({ type: 'punchRequest', requester: 1, target: 2 }, 40);
    for (const input of [...hostileBasics(), ...hostileVariants(valid)]) check(input.bytes);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), propertyOptions());
  });
});
