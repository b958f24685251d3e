// Regenerates the "ours" vectors of this folder. It deliberately shares no code with src/: every
// byte is laid out here with node:buffer and checksummed with node:zlib.crc32, straight from the
// layouts in /work/shared/spec (README §1–3, reference-behaviour §3, §4, §6.4). The vectors marked
// "source": "spec" are copied by hand from reference-behaviour.md and only re-emitted here.
//   node test/vectors/generate-core.mjs   (Node >= 20.15 for zlib.crc32)
import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

const here = new URL('./', import.meta.url);
const hex = (buf) => Buffer.from(buf).toString('hex');
const write = (name, value) => writeFileSync(new URL(name, here), `${JSON.stringify(value, null, 2)}\n`);

function packet({
  version = 1,
  flags = 0,
  protocol,
  src,
  dst,
  srcPort,
  dstPort,
  seq = 0,
  ack = 0,
  window = 0,
  payload = Buffer.alloc(0),
  badCrc = false,
}) {
  const header = Buffer.alloc(34);
  header.writeUInt8(((version & 0xf) << 4) | (flags & 0xf), 0);
  header.writeUInt8(protocol, 1);
  header.writeUInt16BE(payload.length, 2);
  header.writeUInt16BE(src[0], 4);
  header.writeUInt32BE(src[1], 6);
  header.writeUInt16BE(dst[0], 10);
  header.writeUInt32BE(dst[1], 12);
  header.writeUInt16BE(srcPort, 16);
  header.writeUInt16BE(dstPort, 18);
  header.writeUInt32BE(seq, 20);
  header.writeUInt32BE(ack, 24);
  header.writeUInt16BE(window, 28);
  let crc = crc32(payload, crc32(header));
  if (badCrc) crc = (crc ^ 1) >>> 0;
  header.writeUInt32BE(crc, 30);
  return Buffer.concat([header, payload]);
}

const fields = (p) => ({
  version: p.version ?? 1,
  flags: p.flags ?? 0,
  protocol: p.protocol,
  src: { network: p.src[0], node: p.src[1] },
  dst: { network: p.dst[0], node: p.dst[1] },
  srcPort: p.srcPort,
  dstPort: p.dstPort,
  seq: p.seq ?? 0,
  ack: p.ack ?? 0,
  window: p.window ?? 0,
  payload: hex(p.payload ?? Buffer.alloc(0)),
});

// ---- packets ----
// Copied from reference-behaviour.md §3 as printed there (spaces removed).
const SPEC_SYN = '11010000 00000000 00010000 00000002 c00003e8 00000000 00000000 0200 145ed874'.replace(
  / /g,
  '',
);
const SPEC_DATA =
  '12010005 00000000 00010000 00000002 c00003e8 00000001 00000001 01f6 5ee872c8 68656c6c6f'.replace(/ /g, '');
const syn = { flags: 1, protocol: 1, src: [0, 1], dst: [0, 2], srcPort: 49152, dstPort: 1000, window: 512 };
const data = {
  flags: 2,
  protocol: 1,
  src: [0, 1],
  dst: [0, 2],
  srcPort: 49152,
  dstPort: 1000,
  seq: 1,
  ack: 1,
  window: 502,
  payload: Buffer.from('hello'),
};
if (hex(packet(syn)) !== SPEC_SYN || hex(packet(data)) !== SPEC_DATA)
  throw new Error('generator disagrees with the spec vectors');

const sackPayload = Buffer.concat([Buffer.from('SACK'), Buffer.from([2]), u32s(100, 200, 300, 400)]);
function u32s(...values) {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, 4 * i);
  });
  return b;
}
const pattern = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));

const ours = {
  'fin-ack-near-wrap': {
    flags: 6,
    protocol: 1,
    src: [1, 0xf2910004],
    dst: [1, 7],
    srcPort: 1000,
    dstPort: 49153,
    seq: 0xfffffff0,
    ack: 0x80000000,
    window: 0,
  },
  rst: { flags: 8, protocol: 1, src: [0, 5], dst: [0, 6], srcPort: 1001, dstPort: 50000, seq: 12345 },
  'datagram-broadcast': {
    protocol: 2,
    src: [5, 9],
    dst: [5, 0xffffffff],
    srcPort: 1002,
    dstPort: 1002,
    payload: Buffer.from('event'),
  },
  'control-ping': {
    protocol: 3,
    src: [0, 0x10],
    dst: [0, 0x20],
    srcPort: 49200,
    dstPort: 0,
    payload: Buffer.from('ping'),
  },
  'ack-with-sack': {
    flags: 2,
    protocol: 1,
    src: [0, 2],
    dst: [0, 1],
    srcPort: 1000,
    dstPort: 49152,
    seq: 1,
    ack: 6,
    window: 511,
    payload: sackPayload,
  },
  'max-fields': {
    flags: 15,
    protocol: 255,
    src: [0xffff, 0xffffffff],
    dst: [0xffff, 0xfffffffe],
    srcPort: 65535,
    dstPort: 65535,
    seq: 0xffffffff,
    ack: 0xffffffff,
    window: 65535,
    payload: Buffer.alloc(16, 0xff),
  },
  'unknown-protocol-7': { protocol: 7, src: [0, 1], dst: [0, 2], srcPort: 1, dstPort: 2 },
  'payload-1200': {
    flags: 2,
    protocol: 1,
    src: [3, 0x00a30001],
    dst: [3, 0x00a30002],
    srcPort: 49999,
    dstPort: 1001,
    seq: 0x12345678,
    ack: 0x9abcdef0,
    window: 64,
    payload: pattern(1200),
  },
};

const synBytes = packet(syn);
const versioned = (v, opts = {}) => packet({ ...syn, version: v, ...opts });
write('packets.json', {
  valid: [
    { name: 'syn', source: 'spec', hex: SPEC_SYN, packet: fields(syn) },
    { name: 'data-hello', source: 'spec', hex: SPEC_DATA, packet: fields(data) },
    ...Object.entries(ours).map(([name, p]) => ({
      name,
      source: 'ours',
      hex: hex(packet(p)),
      packet: fields(p),
    })),
  ],
  // Decodes, but re-encoding gives `canonical`, not the input.
  decodeOnly: [
    {
      name: 'syn-with-3-padding-bytes',
      source: 'ours',
      hex: hex(Buffer.concat([synBytes, Buffer.from([0xde, 0xad, 0x00])])),
      canonical: SPEC_SYN,
      packet: fields(syn),
    },
    {
      name: 'data-with-padding',
      source: 'ours',
      hex: `${SPEC_DATA}00ff`,
      canonical: SPEC_DATA,
      packet: fields(data),
    },
  ],
  invalid: [
    { name: 'empty', hex: '', code: 'WIRE_TRUNCATED' },
    { name: '33-byte header', hex: SPEC_SYN.slice(0, 66), code: 'WIRE_TRUNCATED' },
    { name: 'payload length beyond bytes', hex: SPEC_DATA.slice(0, -2), code: 'WIRE_TRUNCATED' },
    {
      name: 'checksum off by one bit',
      hex: hex(packet({ ...syn, badCrc: true })),
      code: 'WIRE_BAD_CHECKSUM',
    },
    { name: 'payload byte changed', hex: `${SPEC_DATA.slice(0, -2)}6e`, code: 'WIRE_BAD_CHECKSUM' },
    { name: 'version 2 with a valid checksum', hex: hex(versioned(2)), code: 'WIRE_BAD_VERSION' },
    { name: 'version 0 with a valid checksum', hex: hex(versioned(0)), code: 'WIRE_BAD_VERSION' },
    { name: 'version 15 with a valid checksum', hex: hex(versioned(15)), code: 'WIRE_BAD_VERSION' },
    {
      name: 'version 2 and a bad checksum (checksum is checked first)',
      hex: hex(versioned(2, { badCrc: true })),
      code: 'WIRE_BAD_CHECKSUM',
    },
    {
      name: 'bad checksum and truncated payload (truncation is checked first)',
      hex: hex(packet({ ...data, badCrc: true })).slice(0, -2),
      code: 'WIRE_TRUNCATED',
    },
  ],
});

// ---- tunnel frames ----
const SPEC_PILS =
  '50494c5300000001010203040000000000000001' +
  '5fcf952c7c62e03c63e28e3d57b851da52b6f8909e7af6a078620a036ee6ea860380e5485bad17db4a6ca076d85bdb11e063';
const SPEC_PILA =
  '50494c41000000018520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664569ad1a19cd43cddcd7a69bbc3da6bd62171074313ada44d40a96e03c438849f90d8dba7b11b5588fd3134fbe18542cedea9da9a2471226e36d96190467e4f00';
const ALICE_X25519_PUB = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_X25519_PUB = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const magic = (m) => Buffer.from(m, 'ascii');
const node = (n) => u32s(n);
const pilt = Buffer.concat([magic('PILT'), synBytes]);
const pilk = Buffer.concat([magic('PILK'), node(2), Buffer.from(BOB_X25519_PUB, 'hex')]);
const pilsMin = Buffer.concat([magic('PILS'), node(0xdeadbeef), pattern(12), Buffer.alloc(16, 0xaa)]);
write('tunnel-frames.json', {
  valid: [
    {
      name: 'PILS from the reference crypto vectors',
      source: 'spec',
      hex: SPEC_PILS,
      frame: {
        kind: 'encrypted',
        senderNode: 1,
        nonce: '010203040000000000000001',
        ciphertext: SPEC_PILS.slice(40),
      },
      // Independent check: AES-256-GCM open with this key and AAD = the sender node gives the SYN vector.
      tunnelKey: '3e765a2f49fe2a9185dd5d57c08a3525060d2d2c2b2a356fadef25f614d38662',
      plaintext: SPEC_SYN,
    },
    {
      name: 'PILA from the reference crypto vectors',
      source: 'spec',
      hex: SPEC_PILA,
      frame: {
        kind: 'auth-key-exchange',
        senderNode: 1,
        x25519PublicKey: ALICE_X25519_PUB,
        ed25519PublicKey: '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664',
        signature: SPEC_PILA.slice(144),
      },
      signedBytes: hex(Buffer.concat([Buffer.from('auth'), node(1), Buffer.from(ALICE_X25519_PUB, 'hex')])),
    },
    {
      name: 'PILT around the SYN vector',
      source: 'ours',
      hex: hex(pilt),
      frame: { kind: 'plaintext', packet: SPEC_SYN },
    },
    {
      name: 'PILK node 2, RFC 7748 Bob key',
      source: 'ours',
      hex: hex(pilk),
      frame: { kind: 'key-exchange', senderNode: 2, x25519PublicKey: BOB_X25519_PUB },
    },
    { name: 'PILP magic alone', source: 'ours', hex: hex(magic('PILP')), frame: { kind: 'punch' } },
    {
      name: 'PILS smallest (empty plaintext, tag only)',
      source: 'ours',
      hex: hex(pilsMin),
      frame: {
        kind: 'encrypted',
        senderNode: 0xdeadbeef,
        nonce: hex(pattern(12)),
        ciphertext: 'aa'.repeat(16),
      },
    },
  ],
  decodeOnly: [
    {
      name: 'PILP with a node ID (the spec text form)',
      hex: hex(Buffer.concat([magic('PILP'), node(7)])),
      frame: { kind: 'punch' },
      canonical: hex(magic('PILP')),
    },
    {
      name: 'PILK with one trailing byte (ignored, as the reference)',
      hex: `${hex(pilk)}00`,
      frame: { kind: 'key-exchange', senderNode: 2, x25519PublicKey: BOB_X25519_PUB },
      canonical: hex(pilk),
      exactCode: 'WIRE_LENGTH_MISMATCH',
    },
    {
      name: 'PILA with 8 trailing bytes',
      hex: `${SPEC_PILA}${'00'.repeat(8)}`,
      frame: null,
      canonical: SPEC_PILA,
      exactCode: 'WIRE_LENGTH_MISMATCH',
    },
  ],
  invalid: [
    { name: 'empty', hex: '', code: 'WIRE_TRUNCATED' },
    { name: '3 bytes of a magic', hex: '50494c', code: 'WIRE_TRUNCATED' },
    {
      name: 'unknown magic PILX',
      hex: hex(Buffer.concat([magic('PILX'), Buffer.alloc(40)])),
      code: 'WIRE_BAD_MAGIC',
    },
    { name: 'beacon discover (first byte 0x01)', hex: '0100000001', code: 'WIRE_BAD_MAGIC' },
    {
      name: 'lower-case magic pilt',
      hex: hex(Buffer.concat([magic('pilt'), synBytes])),
      code: 'WIRE_BAD_MAGIC',
    },
    { name: 'PILT with a 33-byte packet', hex: hex(pilt.subarray(0, 37)), code: 'WIRE_TRUNCATED' },
    { name: 'PILS of 35 bytes', hex: hex(pilsMin.subarray(0, 35)), code: 'WIRE_TRUNCATED' },
    { name: 'PILK of 39 bytes', hex: hex(pilk.subarray(0, 39)), code: 'WIRE_TRUNCATED' },
    { name: 'PILA of 135 bytes', hex: SPEC_PILA.slice(0, 270), code: 'WIRE_TRUNCATED' },
  ],
});

// ---- addresses ----
write('addresses.json', {
  valid: [
    {
      text: '1:0001.F291.0004',
      source: 'spec',
      network: 1,
      node: 0xf2910004,
      hex: '0001f2910004',
      canonical: '1:0001.F291.0004',
    },
    {
      text: '7:0007.FFFF.FFFF',
      source: 'spec',
      network: 7,
      node: 0xffffffff,
      hex: '0007ffffffff',
      canonical: '7:0007.FFFF.FFFF',
      broadcast: true,
    },
    {
      text: '0:0000.0000.0000',
      source: 'spec',
      network: 0,
      node: 0,
      hex: '000000000000',
      canonical: '0:0000.0000.0000',
    },
    {
      text: '0:0000.0000.0001',
      source: 'spec',
      network: 0,
      node: 1,
      hex: '000000000001',
      canonical: '0:0000.0000.0001',
    },
    {
      text: '5:0005.FFFF.FFFF',
      source: 'spec',
      network: 5,
      node: 0xffffffff,
      hex: '0005ffffffff',
      canonical: '5:0005.FFFF.FFFF',
      broadcast: true,
    },
    {
      text: '1:0001.f291.0004',
      source: 'ours',
      network: 1,
      node: 0xf2910004,
      hex: '0001f2910004',
      canonical: '1:0001.F291.0004',
    },
    {
      text: '65535:FFFF.FFFF.FFFE',
      source: 'ours',
      network: 65535,
      node: 0xfffffffe,
      hex: 'fffffffffffe',
      canonical: '65535:FFFF.FFFF.FFFE',
    },
    {
      text: '163:00a3.AbCd.eF01',
      source: 'ours',
      network: 163,
      node: 0xabcdef01,
      hex: '00a3abcdef01',
      canonical: '163:00A3.ABCD.EF01',
    },
    {
      text: '01:0001.0000.0002',
      source: 'ours',
      network: 1,
      node: 2,
      hex: '000100000002',
      canonical: '1:0001.0000.0002',
    },
  ],
  invalid: [
    { text: '1:00A3.F291.0004', why: 'the draft example: decimal 1 disagrees with hex 0x00A3 (spec)' },
    { text: '163:00A4.0000.0001', why: 'network mismatch' },
    { text: '1:0001.F291.004', why: 'three hex digits' },
    { text: '1:0001.F291.00004', why: 'five hex digits' },
    { text: '1:001.F291.0004', why: 'three hex digits in NNNN' },
    { text: '65536:0000.0000.0000', why: 'network over 65535' },
    { text: '-1:FFFF.0000.0000', why: 'negative network' },
    { text: '+1:0001.0000.0000', why: 'signed network' },
    { text: '1:0001:F291.0004', why: 'wrong separator' },
    { text: '1:0001.F291.0004.0000', why: 'extra group' },
    { text: ' 1:0001.F291.0004', why: 'leading space' },
    { text: '1:0001.F291.0004 ', why: 'trailing space' },
    { text: '1:0001.F291.0004\n', why: 'trailing newline' },
    { text: '1:0x01.F291.0004', why: '0x prefix' },
    { text: '1:0001.G291.0004', why: 'not hex' },
    { text: ':0001.F291.0004', why: 'no network' },
    { text: '1:0001.F291', why: 'two groups' },
    { text: '', why: 'empty' },
    { text: '1', why: 'bare number' },
    { text: '１:0001.F291.0004', why: 'full-width digit' },
  ],
  socketValid: [
    {
      text: '0:0000.0000.0005:1000',
      source: 'spec',
      network: 0,
      node: 5,
      port: 1000,
      canonical: '0:0000.0000.0005:1000',
    },
    {
      text: '1:0001.f291.0004:0',
      source: 'ours',
      network: 1,
      node: 0xf2910004,
      port: 0,
      canonical: '1:0001.F291.0004:0',
    },
    {
      text: '2:0002.0000.0003:65535',
      source: 'ours',
      network: 2,
      node: 3,
      port: 65535,
      canonical: '2:0002.0000.0003:65535',
    },
  ],
  socketInvalid: [
    '0:0000.0000.0005',
    '0:0000.0000.0005:',
    '0:0000.0000.0005:65536',
    '0:0000.0000.0005:-1',
    '0:0000.0000.0005:1e3',
    '0:0000.0000.0005:0x10',
    '0:0000.0000.0005: 80',
    '0:0000.0000.0005:123456',
    '1:00A3.F291.0004:80',
    ':80',
    '80',
  ],
});

// ---- SACK payloads ----
const sack = (count, ...edges) => Buffer.concat([Buffer.from('SACK'), Buffer.from([count]), u32s(...edges)]);
write('sack.json', {
  valid: [
    { name: 'one block', hex: hex(sack(1, 1000, 2000)), blocks: [{ left: 1000, right: 2000 }] },
    {
      name: 'two blocks',
      hex: hex(sackPayload),
      blocks: [
        { left: 100, right: 200 },
        { left: 300, right: 400 },
      ],
    },
    {
      name: 'four blocks',
      hex: hex(sack(4, 1, 2, 3, 4, 5, 6, 7, 8)),
      blocks: [
        { left: 1, right: 2 },
        { left: 3, right: 4 },
        { left: 5, right: 6 },
        { left: 7, right: 8 },
      ],
    },
    {
      name: 'block across the wrap',
      hex: hex(sack(1, 0xfffffff0, 0x10)),
      blocks: [{ left: 0xfffffff0, right: 0x10 }],
    },
  ],
  // The reference's classification: these ARE SACKs although they are not what an encoder writes.
  quirks: [
    {
      name: 'trailing data after the blocks',
      hex: `${hex(sack(1, 10, 20))}68656c6c6f`,
      blocks: [{ left: 10, right: 20 }],
    },
    {
      name: 'inverted block still classifies as SACK',
      hex: hex(sack(1, 20, 10)),
      blocks: [{ left: 20, right: 10 }],
      validBlocks: [false],
    },
    {
      name: 'empty block still classifies as SACK',
      hex: hex(sack(1, 5, 5)),
      blocks: [{ left: 5, right: 5 }],
      validBlocks: [false],
    },
  ],
  notSack: [
    { name: 'empty', hex: '' },
    { name: 'hello', hex: hex(Buffer.from('hello')) },
    { name: 'magic alone', hex: hex(Buffer.from('SACK')) },
    { name: 'count 0', hex: hex(Buffer.concat([Buffer.from('SACK'), Buffer.from([0]), u32s(1, 2)])) },
    { name: 'count 5', hex: hex(sack(5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) },
    { name: 'count 2 but one block', hex: hex(sack(2, 1, 2)) },
    { name: 'one byte short', hex: hex(sack(1, 1, 2)).slice(0, -2) },
    {
      name: 'lower-case magic',
      hex: hex(Buffer.concat([Buffer.from('sack'), Buffer.from([1]), u32s(1, 2)])),
    },
  ],
});

// ---- CRC-32 ----
const crcInputs = [
  ['empty', Buffer.alloc(0)],
  ['"a"', Buffer.from('a')],
  ['"123456789" (the CRC catalogue check value)', Buffer.from('123456789')],
  ['quick brown fox', Buffer.from('The quick brown fox jumps over the lazy dog')],
  ['7 bytes (tail loop only)', pattern(7)],
  ['8 bytes (one slice-by-8 step)', pattern(8)],
  ['1000 bytes', pattern(1000)],
  ['64 zero bytes', Buffer.alloc(64)],
];
write(
  'crc32.json',
  crcInputs.map(([name, b]) => ({ name, hex: hex(b), crc: crc32(b).toString(16).padStart(8, '0') })),
);
console.log('vectors written');
