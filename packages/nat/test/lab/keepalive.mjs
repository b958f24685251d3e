// Runs inside p1 or p2: registers with the beacon at 198.18.0.1:9001, then keeps the mapping alive
// with BeaconClient.startKeepalive and prints every endpoint it reports (`endpoint`), and
// `changed` when the NAT mapping moved. Exits when stdin closes.
// argv: node-id local-port interval-ms
import { createSocket } from 'node:dgram';
import { BeaconClient } from '../../dist/index.js';

const [node, port, intervalMs] = process.argv.slice(2, 5).map(Number);
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(port, '0.0.0.0', resolve));
const client = new BeaconClient(socket, { node, beacon: { address: '198.18.0.1', port: 9001 } });
const first = await client.discover({ rto: 200, retries: 4 });
print({ event: 'endpoint', ...first, changed: false });
let last = first;
client.startKeepalive({
  intervalMs,
  onEndpoint: (endpoint) => {
    // Compare with the discover above too (the keepalive's own first answer has no predecessor).
    const changed = endpoint.address !== last.address || endpoint.port !== last.port;
    last = endpoint;
    print({ event: changed ? 'changed' : 'endpoint', ...endpoint, changed });
  },
  onError: (error) => print({ event: 'keepalive-error', code: error.code }),
});
process.stdin.resume();
process.stdin.on('end', () => {
  client.close();
  socket.close();
});
