// node bench/datagram-size.mjs: the transport core alone (SealedCodec, both ends in this process, one
// 64 MiB stream on loopback) at the default datagram size and at 1472, 8192 and 16384 bytes, two
// passes: what larger datagrams where the path allows (RFC 8899 probing) would be worth.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { SealedCodec, UdpTransport } from '@pilot/transport/node';

const KEY = randomBytes(32);
const SIZE = 64 * 1024 * 1024;
async function run(maxDatagramSize) {
  const extra = maxDatagramSize === undefined ? {} : { maxDatagramSize };
  const b = await UdpTransport.create({
    localAddress: { network: 0, node: 2 },
    codec: new SealedCodec({ key: KEY, localNode: 2 }),
    ...extra,
  });
  b.listen(1000);
  b.on('connection', (s) => {
    s.on('data', () => {});
    s.on('end', () => s.end(Uint8Array.of(1)));
  });
  const a = await UdpTransport.create({
    localAddress: { network: 0, node: 1 },
    codec: new SealedCodec({ key: KEY, localNode: 1 }),
    ...extra,
  });
  a.addPeer({ network: 0, node: 2 }, b.udpAddress);
  const s = await a.connect({ network: 0, node: 2 }, 1000);
  const chunk = new Uint8Array(65536);
  const t = performance.now();
  const done = once(s, 'data');
  for (let sent = 0; sent < SIZE; sent += chunk.length) if (!s.write(chunk)) await once(s, 'drain');
  s.end();
  await done;
  const rate = SIZE / 1048576 / ((performance.now() - t) / 1000);
  await a.close();
  await b.close();
  return rate;
}
for (let i = 0; i < 2; i++)
  for (const size of [undefined, 1472, 8192, 16384])
    console.log(size ?? 'default', (await run(size)).toFixed(1), 'MiB/s');
