import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { REQUEST_TYPES } from '../src/index.js';
import { testRegistry } from './helpers.js';

const reg = testRegistry();
afterAll(() => reg.close());
reg.node();
reg.node();

const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0, 1, 2, 0xffff_ffff, 2 ** 53, -0, 1.5, Number.NaN),
  fc.string({ maxLength: 80 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 12 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const fields = [
  'node_id',
  'requester_id',
  'peer_id',
  'network_id',
  'hostname',
  'tags',
  'public',
  'public_key',
  'signature',
  'timestamp',
  'nonce',
  'listen_addr',
  'owner',
  'name',
  'join_rule',
  'token',
  'limit',
  'offset',
  'from_node_id',
  'to_node_id',
  'accept',
  'beacon_id',
  'addr',
  'node_a',
  'node_b',
  'new_public_key',
  'lan_addrs',
  'justification',
];

describe('hostile requests', () => {
  it('every request of every type gets a typed reply, never a throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REQUEST_TYPES, 'nope', ''),
        fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: 8 }),
        (type, body) => {
          const reply = reg.send({ ...body, type });
          expect(typeof reply.type).toBe('string');
          if (reply.type === 'error') {
            expect(reply.code).toMatch(/^DIR_/);
            expect(reply.code).not.toBe('DIR_INTERNAL');
          }
        },
      ),
      propertyOptions(),
    );
  });
});
