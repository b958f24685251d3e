import { cryptoBackend } from '@pilot/crypto';
import {
  decodeTunnelFrame,
  formatAddress,
  isPilotError,
  type Packet,
  PacketFlag,
  Protocol,
  WellKnownPort,
} from '@pilot/wire';
import { DemoNode } from './demo-node.js';

export interface DemoResult {
  readonly keysAgree: boolean;
  readonly delivered: string;
  readonly replayRejectedWith: string | undefined;
  readonly tamperRejectedWith: string | undefined;
}

function hex(bytes: Uint8Array, max = 24): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString('hex');
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : `${shown} (${bytes.length} bytes)`;
}

function flagNames(flags: number): string {
  const names = Object.entries(PacketFlag)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
  return names.length > 0 ? names.join('|') : 'none';
}

function describe(packet: Packet): string {
  const text = new TextDecoder().decode(packet.payload);
  return (
    `${formatAddress(packet.src)}:${packet.srcPort} → ${formatAddress(packet.dst)}:${packet.dstPort} ` +
    `flags=${flagNames(packet.flags)} seq=${packet.seq} ack=${packet.ack} window=${packet.window}` +
    (packet.payload.length > 0 ? ` payload=${JSON.stringify(text)}` : '')
  );
}

function codeOf(error: unknown): string {
  if (isPilotError(error)) return error.code;
  throw error;
}

/**
 * Two nodes on loopback UDP: authenticated key exchange (PILA) both ways, the same tunnel key on
 * both sides, a three-way handshake and a "hello" carried in sealed PILS frames, then a replayed
 * and a tampered frame refused. `log` receives one line per step.
 */
export async function runDemo(log: (line: string) => void): Promise<DemoResult> {
  const alice = await DemoNode.start('alice', { network: 0, node: 0x0000_0101 });
  const bob = await DemoNode.start('bob', { network: 0, node: 0x0000_0102 });
  try {
    // Until @pilot/directory is wired in, this map stands in for the registry's `lookup`.
    const registry = new Map([
      [alice.address.node, alice.identity.publicKey],
      [bob.address.node, bob.identity.publicKey],
    ]);
    log(`crypto backend: ${cryptoBackend()}`);
    for (const node of [alice, bob]) {
      log(
        `${node.name}: ${formatAddress(node.address)} on udp ${node.socket.endpoint.address}:${node.socket.endpoint.port}`,
      );
    }

    const alicePila = alice.authKeyExchange();
    await alice.socket.send(alicePila, bob.socket.endpoint);
    log(`alice → bob  PILA ${hex(alicePila)}`);
    const first = await bob.socket.receive();
    const bobKey = bob.acceptAuthKeyExchange(first.bytes, registry.get(alice.address.node)!, first.from);
    log('bob          verified alice’s signature against her registered key, derived the tunnel key');

    const bobPila = bob.authKeyExchange();
    await bob.socket.send(bobPila, alice.socket.endpoint);
    log(`bob → alice  PILA ${hex(bobPila)}`);
    const second = await alice.socket.receive();
    const aliceKey = alice.acceptAuthKeyExchange(second.bytes, registry.get(bob.address.node)!, second.from);
    const keysAgree = Buffer.from(aliceKey).equals(Buffer.from(bobKey));
    log(`tunnel key   ${keysAgree ? 'identical on both sides' : 'DIFFERS'} (HKDF-SHA256 over X25519)`);

    const base = {
      protocol: Protocol.STREAM,
      src: alice.address,
      dst: bob.address,
      srcPort: 49152,
      dstPort: WellKnownPort.STDIO,
    };
    const reverse = {
      protocol: Protocol.STREAM,
      src: bob.address,
      dst: alice.address,
      srcPort: WellKnownPort.STDIO,
      dstPort: 49152,
    };
    const exchange = async (from: DemoNode, to: DemoNode, packet: Parameters<DemoNode['sendPacket']>[0]) => {
      const frame = await from.sendPacket(packet);
      const received = await to.socket.receive();
      const opened = to.openPacket(received.bytes);
      const sealed = decodeTunnelFrame(received.bytes);
      const counter = sealed.kind === 'encrypted' ? ` nonce=${hex(sealed.nonce, 12)}` : '';
      log(`${from.name} → ${to.name}  PILS ${frame.length} bytes${counter}`);
      log(`             ${describe(opened)}`);
      return { frame, opened };
    };

    await exchange(alice, bob, { ...base, flags: PacketFlag.SYN, seq: 0, ack: 0, window: 512 });
    await exchange(bob, alice, {
      ...reverse,
      flags: PacketFlag.SYN | PacketFlag.ACK,
      seq: 0,
      ack: 1,
      window: 512,
    });
    const hello = await exchange(alice, bob, {
      ...base,
      flags: PacketFlag.ACK,
      seq: 1,
      ack: 1,
      window: 502,
      payload: new TextEncoder().encode('hello'),
    });
    const delivered = new TextDecoder().decode(hello.opened.payload);

    await alice.socket.send(hello.frame, bob.socket.endpoint);
    let replayRejectedWith: string | undefined;
    try {
      bob.openPacket((await bob.socket.receive()).bytes);
    } catch (error) {
      replayRejectedWith = codeOf(error);
    }
    log(`alice → bob  the same PILS frame again: refused with ${replayRejectedWith ?? 'nothing (BUG)'}`);

    const tampered = (
      await alice.sendPacket({ ...base, flags: PacketFlag.ACK, seq: 6, ack: 1, window: 502 })
    ).slice();
    tampered[tampered.length - 1]! ^= 0x01;
    await alice.socket.send(tampered, bob.socket.endpoint);
    await bob.socket.receive(); // the untampered original, sent by sendPacket above
    let tamperRejectedWith: string | undefined;
    try {
      bob.openPacket((await bob.socket.receive()).bytes);
    } catch (error) {
      tamperRejectedWith = codeOf(error);
    }
    log(
      `alice → bob  a PILS frame with one bit flipped: refused with ${tamperRejectedWith ?? 'nothing (BUG)'}`,
    );
    return { keysAgree, delivered, replayRejectedWith, tamperRejectedWith };
  } finally {
    await Promise.all([alice.close(), bob.close()]);
  }
}
