import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, DirErrorCode } from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry;
afterEach(() => reg.close());

type N = ReturnType<TestRegistry['node']>;

function tag(r: TestRegistry, n: N, tags: string[], visible: boolean): void {
  r.ok({ type: 'set_tags', node_id: n.id, tags, ...r.sign(n.signer, Challenge.setTags(n.id)) });
  r.ok({
    type: 'set_visibility',
    node_id: n.id,
    public: visible,
    ...r.sign(n.signer, Challenge.setVisibility(n.id)),
  });
}

describe('find (capability discovery)', () => {
  it('ranks by matched tags, then recency; paginates; hides private nodes from strangers', () => {
    reg = testRegistry();
    const both = reg.node({ hostname: 'both' });
    const metarOnly = reg.node();
    const hidden = reg.node();
    const other = reg.node();
    tag(reg, metarOnly, ['weather.metar'], true);
    reg.clock.advance(1000);
    tag(reg, both, ['weather.metar', 'weather.taf'], true);
    tag(reg, hidden, ['weather.metar'], false);
    tag(reg, other, ['llm'], true);

    const found = reg.ok({ type: 'find', tags: ['weather.metar', 'weather.taf'] });
    expect((found.results as { node_id: number; score: number }[]).map((r) => [r.node_id, r.score])).toEqual([
      [both.id, 2],
      [metarOnly.id, 1],
    ]);
    expect((found.results as { hostname?: string }[])[0]?.hostname).toBe('both');

    const page1 = reg.ok({ type: 'find', tags: ['weather.*'], limit: 1 });
    expect((page1.results as { node_id: number }[]).map((r) => r.node_id)).toEqual([both.id]);
    expect(page1.next_offset).toBe(1);
    const page2 = reg.ok({ type: 'find', tags: ['weather.*'], limit: 1, offset: 1 });
    expect((page2.results as { node_id: number }[]).map((r) => r.node_id)).toEqual([metarOnly.id]);
    expect(page2.next_offset).toBeUndefined();

    // The private node appears for a requester that may resolve it, and only when signed.
    reg.ok({
      type: 'report_trust',
      node_id: hidden.id,
      peer_id: other.id,
      ...reg.sign(hidden.signer, Challenge.reportTrust(hidden.id, other.id)),
    });
    // One side alone reveals nothing: the other side's report completes the pair.
    reg.ok({
      type: 'report_trust',
      node_id: other.id,
      peer_id: hidden.id,
      ...reg.sign(other.signer, Challenge.reportTrust(other.id, hidden.id)),
    });
    const claimed = reg.send({ type: 'find', tags: ['weather.metar'], requester_id: other.id });
    expect(claimed.code).toBe(DirErrorCode.SIGNATURE_REQUIRED);
    const signed = reg.ok({
      type: 'find',
      tags: ['weather.metar'],
      requester_id: other.id,
      ...reg.sign(other.signer, Challenge.find(other.id)),
    });
    expect((signed.results as { node_id: number }[]).map((r) => r.node_id).sort()).toEqual(
      [both.id, metarOnly.id, hidden.id].sort(),
    );
  });

  it('finds by hostname under the privacy rule, and drops expired nodes', () => {
    reg = testRegistry();
    const pub = reg.node({ hostname: 'metar-service' });
    tag(reg, pub, ['weather.metar'], true);
    const priv = reg.node({ hostname: 'secret' });
    expect(reg.ok({ type: 'find', hostname: 'metar-service' }).results).toMatchObject([{ node_id: pub.id }]);
    expect(reg.send({ type: 'find', hostname: 'secret' }).code).toBe(DirErrorCode.NOT_FOUND);
    const self = reg.ok({
      type: 'find',
      hostname: 'secret',
      requester_id: priv.id,
      ...reg.sign(priv.signer, Challenge.find(priv.id)),
    });
    expect(self.results).toMatchObject([{ node_id: priv.id }]);
    reg.clock.advance(301_000);
    expect(reg.ok({ type: 'find', tags: ['weather.metar'] }).results).toEqual([]);
  });

  it('refuses bad queries', () => {
    reg = testRegistry();
    expect(reg.send({ type: 'find' }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'find', tags: ['Bad'] }).code).toBe(DirErrorCode.TAG_INVALID);
    expect(reg.send({ type: 'find', tags: ['a'], limit: 0 }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'find', tags: ['a'], limit: 101 }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'find', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }).code).toBe(
      DirErrorCode.BAD_REQUEST,
    );
  });
});

describe('beacons', () => {
  it('registers beacons and lists the ones heard from in the last 60 s', () => {
    reg = testRegistry();
    reg.ok({ type: 'beacon_register', beacon_id: 7, addr: '198.51.100.9:9001' });
    reg.ok({ type: 'beacon_register', beacon_id: 'eu-1', addr: '198.51.100.10:9001' });
    expect(reg.ok({ type: 'beacon_list' }).beacons).toEqual([
      { beacon_id: 7, addr: '198.51.100.9:9001' },
      { beacon_id: 'eu-1', addr: '198.51.100.10:9001' },
    ]);
    reg.clock.advance(61_000);
    expect(reg.ok({ type: 'beacon_list' }).beacons).toEqual([]);
    expect(reg.handler.reap().beacons).toBe(2);
    expect(reg.send({ type: 'beacon_register', beacon_id: 7, addr: 'nope' }).code).toBe(
      DirErrorCode.BAD_REQUEST,
    );
  });

  it('requires the beacon token when one is configured', () => {
    reg = testRegistry({ beaconToken: 'beacon-secret' });
    expect(reg.send({ type: 'beacon_register', beacon_id: 1, addr: '1.2.3.4:9001' }).code).toBe(
      DirErrorCode.FORBIDDEN,
    );
    expect(
      reg.send({ type: 'beacon_register', beacon_id: 1, addr: '1.2.3.4:9001', token: 'beacon-secret' }).type,
    ).toBe('beacon_register_ok');
  });
});

describe('requests that are not operations', () => {
  it('answers unknown and typeless requests with typed errors', () => {
    reg = testRegistry();
    expect(reg.send({ type: 'launch_missiles' }).code).toBe(DirErrorCode.UNKNOWN_TYPE);
    expect(reg.send({}).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'lookup', node_id: -1 }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'lookup', node_id: 1.5 }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'lookup', node_id: '1' }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'lookup', node_id: 99 }).code).toBe(DirErrorCode.NOT_FOUND);
  });
});
