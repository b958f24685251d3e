// The `tunnel-capabilities` extension: a pilot-ts daemon's signed register says what its tunnel
// supports beyond the spec; lookup shows it, so peers know before their first PILA whether they may
// append a PILX (a reference node, which never registers this, never gets one).
import { sign as ed25519Sign, generateIdentity } from '@pilot/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, DirErrorCode, RegistryExtension, signChallenge, toBase64 } from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry;
afterEach(() => reg.close());

function signer() {
  const identity = generateIdentity();
  return { publicKey: identity.publicKey, sign: (message: Uint8Array) => ed25519Sign(identity, message) };
}

describe('tunnel capabilities in register and lookup', () => {
  it('a signed register carries them; lookup shows them; the registry advertises the extension', () => {
    reg = testRegistry();
    const s = signer();
    const publicKey = toBase64(s.publicKey);
    const body = {
      type: 'register',
      public_key: publicKey,
      listen_addr: '',
      tunnel_capabilities: ['forward-secrecy'],
    };
    const reply = reg.ok({
      ...body,
      ...signChallenge(s, Challenge.register(publicKey), { values: body, nowMs: reg.clock.now }),
    });
    expect(reply.extensions).toContain(RegistryExtension.TUNNEL_CAPABILITIES);
    const id = Number(reply.node_id);
    expect(reg.ok({ type: 'lookup', node_id: id }).tunnel_capabilities).toEqual(['forward-secrecy']);
  });

  it('added on the path under a valid signature: refused; unsigned: not believed', () => {
    reg = testRegistry();
    const s = signer();
    const publicKey = toBase64(s.publicKey);
    const body = { type: 'register', public_key: publicKey, listen_addr: '' };
    const signed = {
      ...body,
      ...signChallenge(s, Challenge.register(publicKey), { values: body, nowMs: reg.clock.now }),
    };
    expect(reg.send({ ...signed, tunnel_capabilities: ['forward-secrecy'] }).code).toBe(
      DirErrorCode.BAD_SIGNATURE,
    );
    const plain = generateIdentity();
    const unsigned = reg.send({
      type: 'register',
      public_key: toBase64(plain.publicKey),
      listen_addr: '',
      tunnel_capabilities: ['forward-secrecy'],
    });
    if (unsigned.type === 'register_ok') {
      expect(
        reg.ok({ type: 'lookup', node_id: Number(unsigned.node_id) }).tunnel_capabilities,
      ).toBeUndefined();
    }
  });

  it('a register without them clears what an earlier one said', () => {
    reg = testRegistry();
    const s = signer();
    const publicKey = toBase64(s.publicKey);
    const first = {
      type: 'register',
      public_key: publicKey,
      listen_addr: '',
      tunnel_capabilities: ['forward-secrecy'],
    };
    const id = Number(
      reg.ok({
        ...first,
        ...signChallenge(s, Challenge.register(publicKey), { values: first, nowMs: reg.clock.now }),
      }).node_id,
    );
    reg.clock.advance(1000);
    const second = { type: 'register', public_key: publicKey, listen_addr: '' };
    reg.ok({
      ...second,
      ...signChallenge(s, Challenge.register(publicKey), { values: second, nowMs: reg.clock.now }),
    });
    expect(reg.ok({ type: 'lookup', node_id: id }).tunnel_capabilities).toBeUndefined();
  });
});
