// Runs inside a lab namespace: asks a udp-reflector where it sees this socket, once at start and
// again on each stdin line "probe". Retries every 100 ms until an answer arrives.
import { createSocket } from 'node:dgram';

const host = process.argv[2] ?? '198.18.0.1';
const port = Number(process.argv[3] ?? 3478);
const localPort = Number(process.argv[4] ?? 0);
const socket = createSocket('udp4');
let asked = 0;
let answered = 0;
let retry: NodeJS.Timeout | undefined;
let started = 0;

function probe(): void {
  asked++;
  started = performance.now();
  const send = (): void => socket.send('?', port, host);
  send();
  clearInterval(retry);
  retry = setInterval(send, 100);
}

socket.on('message', (message) => {
  if (answered >= asked) return;
  answered = asked;
  clearInterval(retry);
  const seen = JSON.parse(message.toString('utf8')) as { address: string; port: number };
  process.stdout.write(
    `${JSON.stringify({ event: 'reflexive', ...seen, n: answered, ms: performance.now() - started })}\n`,
  );
});
socket.bind(localPort, () => probe());
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n')) if (line.trim() === 'probe') probe();
});
process.stdin.on('end', () => {
  clearInterval(retry);
  socket.close();
});
