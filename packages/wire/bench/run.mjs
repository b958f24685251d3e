// Throughput of the hot codecs, each next to a baseline measured in the same run:
//   - encoders against a plain DataView write of the same 34 header bytes into a reused buffer
//     (the floor for "writing a header" in JS);
//   - decoders and crc32 against node:zlib.crc32 over the same bytes (native code; a decode must
//     checksum every byte, so this is the floor for verifying a packet).
// Each task runs BATCH operations per sample so timer overhead does not swamp 100-ns operations.
// Run: pnpm run build && pnpm run bench   (about 10 s)
import { crc32 as zlibCrc32 } from 'node:zlib';
import { Bench } from 'tinybench';
import {
  crc32,
  decodePacket,
  decodeTunnelFrame,
  encodePacket,
  encodePacketInto,
  encodeTunnelFrame,
  formatAddress,
  parseAddress,
} from '../dist/index.js';

const BATCH = 1000;
const bench = new Bench({ time: 400, warmupTime: 100 });
let sink = 0;

const syn = {
  flags: 1,
  protocol: 1,
  src: { network: 0, node: 1 },
  dst: { network: 0, node: 2 },
  srcPort: 49152,
  dstPort: 1000,
  window: 512,
};
const payload = new Uint8Array(1200).map((_, i) => i & 0xff);
const data = { ...syn, flags: 2, seq: 1, ack: 1, window: 502, payload };
const synBytes = encodePacket(syn);
const dataBytes = encodePacket(data);
const pils = encodeTunnelFrame({
  kind: 'encrypted',
  senderNode: 7,
  nonce: new Uint8Array(12),
  ciphertext: new Uint8Array(dataBytes.length + 16),
});
const target = new Uint8Array(2048);
const view = new DataView(target.buffer);

function dataViewHeader() {
  view.setUint8(0, 0x11);
  view.setUint8(1, 1);
  view.setUint16(2, 0);
  view.setUint16(4, 0);
  view.setUint32(6, 1);
  view.setUint16(10, 0);
  view.setUint32(12, 2);
  view.setUint16(16, 49152);
  view.setUint16(18, 1000);
  view.setUint32(20, 0);
  view.setUint32(24, 0);
  view.setUint16(28, 512);
  view.setUint32(30, 0);
}

// name, bytes per op, baseline name (or null for a baseline), function of one op
const tasks = [
  [
    'baseline: DataView write of a 34-byte header',
    34,
    null,
    () => {
      dataViewHeader();
      sink ^= target[5];
    },
  ],
  [
    'baseline: zlib.crc32, 34 bytes',
    34,
    null,
    () => {
      sink ^= zlibCrc32(synBytes);
    },
  ],
  [
    'baseline: zlib.crc32, 1234 bytes',
    1234,
    null,
    () => {
      sink ^= zlibCrc32(dataBytes);
    },
  ],
  [
    'crc32, 34 bytes',
    34,
    'baseline: zlib.crc32, 34 bytes',
    () => {
      sink ^= crc32(synBytes);
    },
  ],
  [
    'crc32, 1234 bytes',
    1234,
    'baseline: zlib.crc32, 1234 bytes',
    () => {
      sink ^= crc32(dataBytes);
    },
  ],
  [
    'encodePacketInto, header only',
    34,
    'baseline: DataView write of a 34-byte header',
    () => {
      sink ^= encodePacketInto(syn, target, 0);
    },
  ],
  [
    'encodePacket, header only (allocates)',
    34,
    'baseline: DataView write of a 34-byte header',
    () => {
      sink ^= encodePacket(syn).length;
    },
  ],
  [
    'decodePacket, header only',
    34,
    'baseline: zlib.crc32, 34 bytes',
    () => {
      sink ^= decodePacket(synBytes).window;
    },
  ],
  [
    'encodePacketInto, 1200-byte payload',
    1234,
    'baseline: zlib.crc32, 1234 bytes',
    () => {
      sink ^= encodePacketInto(data, target, 0);
    },
  ],
  [
    'decodePacket, 1200-byte payload',
    1234,
    'baseline: zlib.crc32, 1234 bytes',
    () => {
      sink ^= decodePacket(dataBytes).seq;
    },
  ],
  [
    'decodeTunnelFrame, PILS 1270 bytes',
    pils.length,
    'baseline: zlib.crc32, 34 bytes',
    () => {
      sink ^= decodeTunnelFrame(pils).kind.length;
    },
  ],
  [
    'parseAddress + formatAddress',
    16,
    'baseline: zlib.crc32, 34 bytes',
    () => {
      sink ^= formatAddress(parseAddress('1:0001.F291.0004')).length;
    },
  ],
];

for (const [name, , , op] of tasks) {
  bench.add(name, () => {
    for (let i = 0; i < BATCH; i++) op();
  });
}
await bench.run();

const opsPerSecond = new Map();
for (const task of bench.tasks) opsPerSecond.set(task.name, task.result.throughput.mean * BATCH);

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows = tasks.map(([name, bytes, baseline]) => {
  const ops = opsPerSecond.get(name);
  return {
    task: name,
    'ops/s': fmt(ops),
    'MB/s': fmt((ops * bytes) / 1e6, 1),
    'ns/op': fmt(1e9 / ops, 1),
    'vs baseline':
      baseline === null
        ? '(baseline)'
        : `${fmt(ops / opsPerSecond.get(baseline), 2)}x ${baseline.replace('baseline: ', '')}`,
  };
});
console.log(`@pilot/wire bench — node ${process.version}, ${BATCH} ops per sample`);
console.table(rows);
if (sink === 0.5) console.log(sink);
