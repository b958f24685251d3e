// Runs inside a lab namespace: tells every UDP sender where its datagram came from.
import { createSocket } from 'node:dgram';

const host = process.argv[2] ?? '0.0.0.0';
const port = Number(process.argv[3] ?? 3478);
const socket = createSocket('udp4');
socket.on('message', (_message, from) => {
  socket.send(JSON.stringify({ address: from.address, port: from.port }), from.port, from.address);
});
socket.bind(port, host, () => {
  process.stdout.write(`${JSON.stringify({ event: 'ready', port: socket.address().port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => socket.close());
