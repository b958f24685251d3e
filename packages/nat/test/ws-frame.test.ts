import { hostileBasics, hostileVariants, propertyOptions } from '@pilot/testkit';
import { isPilotError } from '@pilot/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeWsClose,
  encodeWsFrame,
  NatErrorCode,
  parseHttpResponseHead,
  parseProxyUrl,
  WsFrameDecoder,
  WsOpcode,
  wsAcceptKey,
} from '../src/index.js';

const mask = fc.uint8Array({ minLength: 4, maxLength: 4 });

function decodeAll(bytes: Uint8Array, expectMasked: boolean, cuts: readonly number[] = []) {
  const decoder = new WsFrameDecoder({ expectMasked, maxMessage: 1 << 20 });
  const out = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= bytes.length) continue;
    out.push(...decoder.push(bytes.subarray(at, cut)));
    at = cut;
  }
  out.push(...decoder.push(bytes.subarray(at)));
  return out;
}

function expectOnlyWsErrors(bytes: Uint8Array, expectMasked: boolean): void {
  try {
    decodeAll(bytes, expectMasked);
  } catch (error) {
    expect(isPilotError(error)).toBe(true);
    expect([NatErrorCode.WS_MALFORMED, NatErrorCode.WS_TOO_LARGE]).toContain(
      (error as { code: string }).code,
    );
  }
}

describe('WebSocket framing (RFC 6455)', () => {
  it('the accept key of RFC 6455 §1.3', () => {
    expect(wsAcceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('the RFC 6455 §5.7 examples decode', () => {
    const unmasked = Uint8Array.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    expect(decodeAll(unmasked, false)).toEqual([{ kind: 'text', data: new TextEncoder().encode('Hello') }]);
    const masked = Uint8Array.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    expect(decodeAll(masked, true)).toEqual([{ kind: 'text', data: new TextEncoder().encode('Hello') }]);
    const fragmented = Uint8Array.from([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    expect(decodeAll(fragmented, false)).toEqual([{ kind: 'text', data: new TextEncoder().encode('Hello') }]);
    // A ping between two fragments is delivered first.
    const interleaved = Uint8Array.from([0x02, 0x01, 0x01, 0x89, 0x00, 0x80, 0x01, 0x02]);
    expect(decodeAll(interleaved, false)).toEqual([
      { kind: 'ping', data: new Uint8Array(0) },
      { kind: 'binary', data: Uint8Array.of(1, 2) },
    ]);
  });

  it('round-trips any binary message, masked or not, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.option(mask, { nil: undefined }),
        fc.array(fc.nat({ max: 70_020 }), { maxLength: 6 }),
        (payload, key, cuts) => {
          const frame = encodeWsFrame(WsOpcode.BINARY, payload, key);
          expect(decodeAll(frame, key !== undefined, cuts)).toEqual([{ kind: 'binary', data: payload }]);
        },
      ),
      propertyOptions(200),
    );
  });

  it('several frames in one chunk, and close codes', () => {
    const bytes = new Uint8Array([
      ...encodeWsFrame(WsOpcode.BINARY, Uint8Array.of(1)),
      ...encodeWsFrame(WsOpcode.PONG, Uint8Array.of(2)),
      ...encodeWsFrame(WsOpcode.CLOSE, encodeWsClose(1000, 'bye')),
    ]);
    expect(decodeAll(bytes, false)).toEqual([
      { kind: 'binary', data: Uint8Array.of(1) },
      { kind: 'pong', data: Uint8Array.of(2) },
      { kind: 'close', code: 1000, reason: 'bye' },
    ]);
  });

  it('refuses what RFC 6455 forbids, with a typed error', () => {
    const cases: Array<[string, number[], boolean, string]> = [
      ['unmasked client frame', [0x82, 0x00], true, NatErrorCode.WS_MALFORMED],
      ['masked server frame', [0x82, 0x80, 0, 0, 0, 0], false, NatErrorCode.WS_MALFORMED],
      ['reserved bit', [0xc2, 0x00], false, NatErrorCode.WS_MALFORMED],
      ['reserved opcode', [0x83, 0x00], false, NatErrorCode.WS_MALFORMED],
      ['fragmented ping', [0x09, 0x00], false, NatErrorCode.WS_MALFORMED],
      ['long ping', [0x89, 126, 0, 126, ...new Array(126).fill(0)], false, NatErrorCode.WS_MALFORMED],
      ['lone continuation', [0x80, 0x00], false, NatErrorCode.WS_MALFORMED],
      ['new message mid-fragments', [0x02, 0x00, 0x82, 0x00], false, NatErrorCode.WS_MALFORMED],
      ['non-minimal 16-bit length', [0x82, 126, 0, 5, 1, 2, 3, 4, 5], false, NatErrorCode.WS_MALFORMED],
      ['64-bit length top bit', [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0], false, NatErrorCode.WS_MALFORMED],
      ['message over the limit', [0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0], false, NatErrorCode.WS_TOO_LARGE],
      ['1-byte close', [0x88, 0x01, 0x03], false, NatErrorCode.WS_MALFORMED],
      ['close code 1005', [0x88, 0x02, 0x03, 0xed], false, NatErrorCode.WS_MALFORMED],
      ['close reason not UTF-8', [0x88, 0x03, 0x03, 0xe8, 0xff], false, NatErrorCode.WS_MALFORMED],
    ];
    for (const [name, bytes, expectMasked, code] of cases) {
      let caught: unknown;
      try {
        decodeAll(Uint8Array.from(bytes), expectMasked);
      } catch (error) {
        caught = error;
      }
      expect(isPilotError(caught), name).toBe(true);
      expect((caught as { code: string }).code, name).toBe(code);
    }
  });

  it('a failed decoder stays failed', () => {
    const decoder = new WsFrameDecoder({ expectMasked: false, maxMessage: 100 });
    expect(() => decoder.push(Uint8Array.of(0xc2, 0))).toThrow();
    expect(() => decoder.push(encodeWsFrame(WsOpcode.BINARY, Uint8Array.of(1)))).toThrow();
  });

  it('hostile bytes only ever give NAT_WS_* errors (fuzz)', () => {
    const valid = encodeWsFrame(WsOpcode.BINARY, Uint8Array.of(1, 2, 3), Uint8Array.of(9, 8, 7, 6));
    for (const input of [...hostileBasics(), ...hostileVariants(valid)]) {
      expectOnlyWsErrors(input.bytes, true);
      expectOnlyWsErrors(input.bytes, false);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, masked) =>
        expectOnlyWsErrors(bytes, masked),
      ),
      propertyOptions(2000),
    );
  });
});

describe('HTTP heads and proxy URLs', () => {
  it('parses a 101 and refuses what is not HTTP', () => {
    const head = parseHttpResponseHead(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc',
      NatErrorCode.WS_HANDSHAKE,
    );
    expect(head.status).toBe(101);
    expect(head.headers.get('sec-websocket-accept')).toBe('abc');
    expect(() => parseHttpResponseHead('SSH-2.0-OpenSSH', NatErrorCode.PROXY_REFUSED)).toThrow(
      expect.objectContaining({ code: NatErrorCode.PROXY_REFUSED }),
    );
    expect(() => parseHttpResponseHead('HTTP/1.1 200 OK\r\nno colon', NatErrorCode.PROXY_REFUSED)).toThrow(
      expect.objectContaining({ code: NatErrorCode.PROXY_REFUSED }),
    );
  });

  it('parses proxy URLs with basic credentials', () => {
    expect(parseProxyUrl('http://u%40x:p%3Aw@10.0.0.1:3128')).toEqual({
      host: '10.0.0.1',
      port: 3128,
      auth: { user: 'u@x', password: 'p:w' },
    });
    expect(parseProxyUrl('proxy.example:8080')).toEqual({ host: 'proxy.example', port: 8080 });
    expect(parseProxyUrl('http://[::1]')).toEqual({ host: '::1', port: 80 });
    expect(() => parseProxyUrl('socks5://h:1')).toThrow(
      expect.objectContaining({ code: NatErrorCode.OUT_OF_RANGE }),
    );
    expect(() => parseProxyUrl('http://')).toThrow(
      expect.objectContaining({ code: NatErrorCode.OUT_OF_RANGE }),
    );
  });
});
