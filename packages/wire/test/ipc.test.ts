import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeIpcMessage,
  encodeIpcFrame,
  encodeIpcMessage,
  FrameDecoder,
  IpcCommand,
  IpcHandshakeAction,
  type IpcHandshakeRequest,
  IpcManagedAction,
  type IpcManagedRequest,
  type IpcMessage,
  IpcNetworkAction,
  type IpcNetworkRequest,
} from '../src/index.js';
import { address, u16, u32 } from './arbitraries.js';
import { concatBytes, cutAt, expectWireError, survives, withBytes } from './frame-helpers.js';
import { loadVector } from './load-vector.js';

interface IpcVectors {
  valid: { name: string; hex: string; message: unknown }[];
  invalid: { name: string; hex: string; error: string }[];
}

const vectors = loadVector<IpcVectors>('ipc-messages.json');

const bytes = fc.uint8Array({ maxLength: 64 });
const text = fc.string({ unit: 'binary', maxLength: 24 });
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });

const handshake: fc.Arbitrary<IpcHandshakeRequest> = fc.oneof(
  fc.record({ action: fc.constant('send' as const), node: u32(), justification: text }),
  fc.record({ action: fc.constant('approve' as const), node: u32() }),
  fc.record({ action: fc.constant('reject' as const), node: u32(), reason: text }),
  fc.record({ action: fc.constant('pending' as const) }),
  fc.record({ action: fc.constant('trusted' as const) }),
  fc.record({ action: fc.constant('revoke' as const), node: u32() }),
);

const network: fc.Arbitrary<IpcNetworkRequest> = fc.oneof(
  fc.record({ action: fc.constant('list' as const) }),
  fc.record({ action: fc.constant('join' as const), network: u16(), token: text }),
  fc.record({ action: fc.constantFrom('leave' as const, 'members' as const), network: u16() }),
  fc.record({ action: fc.constant('invite' as const), network: u16(), node: u32() }),
  fc.record({ action: fc.constant('pollInvites' as const) }),
  fc.record({ action: fc.constant('respondInvite' as const), network: u16(), accept: fc.boolean() }),
);

const managed: fc.Arbitrary<IpcManagedRequest> = fc.oneof(
  fc.record({ action: fc.constant('score' as const), network: u16(), node: u32(), delta: i32, topic: text }),
  fc.record({
    action: fc.constantFrom('status' as const, 'rankings' as const, 'cycle' as const),
    network: u16(),
  }),
  fc.record({ action: fc.constant('policy' as const), set: fc.boolean(), network: u16(), json: text }),
  fc.record({
    action: fc.constant('memberTags' as const),
    set: fc.boolean(),
    network: u16(),
    node: u32(),
    json: text,
  }),
);

const ipcMessage: fc.Arbitrary<IpcMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom('bind' as const, 'bindOk' as const), port: u16() }),
  fc.record({ type: fc.constant('dial' as const), address: address(), port: u16() }),
  fc.record({
    type: fc.constantFrom('dialOk' as const, 'close' as const, 'closeOk' as const),
    connId: u32(),
  }),
  fc.record({
    type: fc.constant('accept' as const),
    localPort: u16(),
    connId: u32(),
    remoteAddress: address(),
    remotePort: u16(),
  }),
  fc.record({ type: fc.constantFrom('send' as const, 'recv' as const), connId: u32(), data: bytes }),
  fc.record({ type: fc.constant('error' as const), code: u16(), message: text }),
  fc.record({ type: fc.constant('sendTo' as const), address: address(), port: u16(), data: bytes }),
  fc.record({
    type: fc.constant('recvFrom' as const),
    remoteAddress: address(),
    remotePort: u16(),
    localPort: u16(),
    data: bytes,
  }),
  fc.record({ type: fc.constantFrom('info' as const, 'deregister' as const, 'health' as const) }),
  fc.record({ type: fc.constant('handshake' as const), request: handshake }),
  fc.record({ type: fc.constantFrom('resolveHostname' as const, 'setHostname' as const), hostname: text }),
  fc.record({ type: fc.constant('setVisibility' as const), public: fc.boolean() }),
  fc.record({ type: fc.constant('setTags' as const), json: text }),
  fc.record({ type: fc.constant('setWebhook' as const), url: text }),
  fc.record({ type: fc.constant('setTaskExec' as const), enabled: fc.boolean() }),
  fc.record({ type: fc.constant('network' as const), request: network }),
  fc.record({ type: fc.constant('managed' as const), request: managed }),
  fc.record({ type: fc.constant('sendFile' as const), connId: u32(), json: text }),
  fc.record({
    type: fc.constantFrom(
      'infoOk' as const,
      'handshakeOk' as const,
      'resolveHostnameOk' as const,
      'setHostnameOk' as const,
      'setVisibilityOk' as const,
      'deregisterOk' as const,
      'setTagsOk' as const,
      'setWebhookOk' as const,
      'setTaskExecOk' as const,
      'networkOk' as const,
      'healthOk' as const,
      'managedOk' as const,
      'sendFileOk' as const,
    ),
    json: text,
  }),
);

describe('IPC messages: vectors', () => {
  for (const vector of vectors.valid) {
    it(`decodes and encodes ${vector.name}`, () => {
      const encoded = fromHex(vector.hex);
      const message = withBytes<IpcMessage>(vector.message);
      expect(decodeIpcMessage(encoded)).toEqual(message);
      expect(toHex(encodeIpcMessage(message))).toBe(toHex(encoded));
    });
  }
  for (const vector of vectors.invalid) {
    it(`refuses ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeIpcMessage(fromHex(vector.hex)), vector.error);
    });
  }

  it('covers every command and sub-command', () => {
    const encoded = vectors.valid.map((vector) => fromHex(vector.hex));
    const commands = new Set(encoded.map((message) => message[0]));
    for (const command of Object.values(IpcCommand)) expect(commands.has(command), `0x${command}`).toBe(true);
    const subs = (command: number): Set<number | undefined> =>
      new Set(encoded.filter((message) => message[0] === command).map((message) => message[1]));
    for (const sub of Object.values(IpcHandshakeAction))
      expect(subs(IpcCommand.HANDSHAKE).has(sub)).toBe(true);
    for (const sub of Object.values(IpcNetworkAction)) expect(subs(IpcCommand.NETWORK).has(sub)).toBe(true);
    for (const sub of Object.values(IpcManagedAction)) expect(subs(IpcCommand.MANAGED).has(sub)).toBe(true);
  });

  it('refuses every command byte it does not know', () => {
    const known = new Set<number>(Object.values(IpcCommand));
    for (let command = 0; command < 256; command++) {
      if (!known.has(command))
        expectWireError(() => decodeIpcMessage(Uint8Array.of(command, 0, 0, 0, 0)), 'WIRE_BAD_VALUE');
    }
  });
});

describe('IPC messages: encoder checks', () => {
  it('refuses numbers out of range', () => {
    expectWireError(() => encodeIpcMessage({ type: 'bind', port: 65_536 }), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodeIpcMessage({ type: 'dialOk', connId: -1 }), 'WIRE_OUT_OF_RANGE');
    expectWireError(
      () => encodeIpcMessage({ type: 'dial', address: { network: 70_000, node: 1 }, port: 1 }),
      'WIRE_OUT_OF_RANGE',
    );
    expectWireError(
      () =>
        encodeIpcMessage({
          type: 'managed',
          request: { action: 'score', network: 1, node: 1, delta: 2 ** 31, topic: '' },
        }),
      'WIRE_OUT_OF_RANGE',
    );
  });
  it('refuses text that UTF-8 cannot carry', () => {
    expectWireError(() => encodeIpcMessage({ type: 'setHostname', hostname: 'a\uDC00' }), 'WIRE_BAD_VALUE');
    expectWireError(() => encodeIpcMessage({ type: 'error', code: 1, message: '\uD800' }), 'WIRE_BAD_VALUE');
  });
  it('refuses unknown types and actions', () => {
    for (const type of ['nope', 'toString', '__proto__']) {
      expectWireError(() => encodeIpcMessage({ type, json: '' } as unknown as IpcMessage), 'WIRE_BAD_VALUE');
    }
    for (const type of ['handshake', 'network', 'managed']) {
      expectWireError(
        () => encodeIpcMessage({ type, request: { action: 'nope' } } as unknown as IpcMessage),
        'WIRE_BAD_VALUE',
      );
    }
  });
  it('frames in one buffer, and refuses a message over the limit', () => {
    const send: IpcMessage = { type: 'send', connId: 1, data: new Uint8Array(100) };
    const framed = encodeIpcFrame(send);
    expect(framed.length).toBe(4 + 5 + 100);
    expect(toHex(framed.subarray(0, 9))).toBe('000000690600000001');
    expectWireError(() => encodeIpcFrame(send, 104), 'WIRE_OUT_OF_RANGE');
    expect(encodeIpcFrame(send, 105).length).toBe(109);
  });
  it('decodes data fields as views of the input', () => {
    const encoded = fromHex('07 00000001 AABBCC');
    const message = decodeIpcMessage(encoded);
    if (message.type !== 'recv') throw new Error('expected recv');
    expect(message.data.buffer).toBe(encoded.buffer);
    expect(message.data.byteOffset).toBe(encoded.byteOffset + 5);
  });
});

describe('IPC messages: the SEND_FILE extension (pilot-ts only)', () => {
  it('is [0x70][u32 connId][JSON text], answered by [0x71][JSON text]', () => {
    const request = encodeIpcMessage({ type: 'sendFile', connId: 7, json: '{}' });
    expect(toHex(request)).toBe('70000000077b7d');
    expect(decodeIpcMessage(request)).toEqual({ type: 'sendFile', connId: 7, json: '{}' });
    expect(decodeIpcMessage(Uint8Array.of(0x71, 0x7b, 0x7d))).toEqual({ type: 'sendFileOk', json: '{}' });
  });

  it('a request without its connection ID is WIRE_TRUNCATED', () => {
    expect(() => decodeIpcMessage(Uint8Array.of(0x70, 0, 0))).toThrow(
      expect.objectContaining({ code: 'WIRE_TRUNCATED' }),
    );
  });
});

describe('IPC messages: properties', () => {
  it('decode(encode(m)) equals m', () => {
    fc.assert(
      fc.property(ipcMessage, (message) => {
        expect(decodeIpcMessage(encodeIpcMessage(message))).toEqual(message);
      }),
      propertyOptions(),
    );
  });

  it('re-encoding whatever decodes gives back the same bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 0x24 }), fc.constantFrom(0x70, 0x71)),
        fc.uint8Array({ maxLength: 24 }),
        (command, rest) => {
          const encoded = concatBytes([Uint8Array.of(command), rest]);
          let message: IpcMessage;
          try {
            message = decodeIpcMessage(encoded);
          } catch {
            return;
          }
          expect(toHex(encodeIpcMessage(message))).toBe(toHex(encoded));
        },
      ),
      propertyOptions(),
    );
  });

  it('a stream of framed messages in any chunking decodes to the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(ipcMessage, { maxLength: 8 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 20 }),
        (messages, cuts) => {
          const stream = concatBytes(messages.map((message) => encodeIpcFrame(message)));
          const decoder = new FrameDecoder();
          const out: IpcMessage[] = [];
          for (const chunk of cutAt(stream, cuts)) out.push(...decoder.push(chunk).map(decodeIpcMessage));
          decoder.end();
          expect(out).toEqual(messages);
        },
      ),
      propertyOptions(200),
    );
  });

  it('random bytes give a message or a WIRE_ error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (input) => survives(() => decodeIpcMessage(input))),
      propertyOptions(),
    );
  });

  it('hostile inputs give a message or a WIRE_ error', () => {
    const inputs = [...hostileBasics()];
    for (const vector of vectors.valid) inputs.push(...hostileVariants(fromHex(vector.hex)));
    for (const input of inputs)
      expect(
        survives(() => decodeIpcMessage(input.bytes)),
        input.name,
      ).toBe(true);
  });

  it('mutations of random valid messages give a message or a WIRE_ error', () => {
    fc.assert(
      fc.property(ipcMessage, fc.nat(), fc.nat(), (message, at, bit) => {
        const encoded = encodeIpcMessage(message);
        const flipped = encoded.slice();
        flipped[at % encoded.length] = flipped[at % encoded.length]! ^ (1 << (bit % 8));
        survives(() => decodeIpcMessage(flipped));
        survives(() => decodeIpcMessage(encoded.subarray(0, at % encoded.length)));
      }),
      propertyOptions(),
    );
  });
});
