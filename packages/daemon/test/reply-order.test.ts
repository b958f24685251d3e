import type { IpcMessage } from '@pilot/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyOrder, replyTypeOf } from '../src/reply-order.js';

type Type = IpcMessage['type'];

/**
 * The reference driver's matching (pkg/driver/ipc.go): a reply goes to the oldest request waiting
 * for its type, an Error to the oldest waiting request of any type. Returns whose answer each
 * delivered reply was taken for.
 */
function referenceMatch(
  requests: readonly Type[],
  delivered: readonly { index: number; error: boolean }[],
): number[] {
  const waiting = requests.map((type, index) => ({ index, expect: replyTypeOf(type) }));
  return delivered.map((reply) => {
    const expect = replyTypeOf(requests[reply.index] as Type);
    const at = reply.error ? 0 : waiting.findIndex((w) => w.expect === expect);
    const [taken] = waiting.splice(at, 1);
    return taken?.index ?? -1;
  });
}

describe('ReplyOrder', () => {
  it('lets a reply of another type pass a slow request, and holds an Error until it is the oldest', () => {
    const order = new ReplyOrder();
    const out: string[] = [];
    const dial = order.enter('dialOk');
    const info = order.enter('infoOk');
    const bind = order.enter('bindOk');
    order.answer(info, false, () => out.push('infoOk'));
    order.answer(bind, true, () => out.push('bind error'));
    expect(out).toEqual(['infoOk']);
    expect(order.waiting).toBe(2);
    order.answer(dial, false, () => out.push('dialOk'));
    expect(out).toEqual(['infoOk', 'dialOk', 'bind error']);
    expect(order.waiting).toBe(0);
  });

  it('keeps replies of one type in request order', () => {
    const order = new ReplyOrder();
    const out: number[] = [];
    const first = order.enter('dialOk');
    const second = order.enter('dialOk');
    order.answer(second, false, () => out.push(2));
    expect(out).toEqual([]);
    order.answer(first, false, () => out.push(1));
    expect(out).toEqual([1, 2]);
  });

  it('whatever order requests finish in, the reference driver gives every reply to its own request', () => {
    const types: Type[] = ['dial', 'info', 'bind', 'resolveHostname', 'handshake', 'close'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(...types), error: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.infiniteStream(fc.nat()),
        (requests, picks) => {
          const order = new ReplyOrder();
          const slots = requests.map((r) => order.enter(replyTypeOf(r.type)));
          const delivered: { index: number; error: boolean }[] = [];
          const left = requests.map((_, index) => index);
          const pick = picks[Symbol.iterator]();
          while (left.length > 0) {
            const at = (pick.next().value as number) % left.length;
            const [index] = left.splice(at, 1) as [number];
            const error = requests[index]?.error ?? false;
            order.answer(slots[index] as (typeof slots)[number], error, () =>
              delivered.push({ index, error }),
            );
          }
          expect(delivered).toHaveLength(requests.length);
          expect(order.waiting).toBe(0);
          const matched = referenceMatch(
            requests.map((r) => r.type),
            delivered,
          );
          expect(matched).toEqual(delivered.map((d) => d.index));
        },
      ),
      { numRuns: 500 },
    );
  });
});
