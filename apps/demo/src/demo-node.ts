import {
  createAuthKeyExchange,
  createTunnelOpener,
  createTunnelSealer,
  deriveTunnelKey,
  generateIdentity,
  generateX25519KeyPair,
  type Identity,
  type TunnelOpener,
  type TunnelSealer,
  verifyAuthKeyExchange,
  type X25519KeyPair,
} from '@pilot/crypto';
import { type Address, decodePacket, encodePacket, type Packet, type PacketInit } from '@pilot/wire';
import { DatagramSocket, type Endpoint } from './datagram-socket.js';

/** What a node knows of a peer once the key exchange is done. */
interface Tunnel {
  readonly peerNode: number;
  readonly endpoint: Endpoint;
  readonly key: Uint8Array;
  readonly sealer: TunnelSealer;
  readonly opener: TunnelOpener;
}

/**
 * One node of the demonstration: an Ed25519 identity, an X25519 tunnel key pair made fresh at
 * start (as the reference daemon does) and a UDP socket. It speaks PILA and PILS exactly as the
 * spec lays them out; there is no transport state machine yet, so packets are built by hand.
 */
export class DemoNode {
  readonly name: string;
  readonly address: Address;
  readonly identity: Identity;
  readonly socket: DatagramSocket;
  readonly #x25519: X25519KeyPair;
  #tunnel: Tunnel | undefined;

  private constructor(name: string, address: Address, socket: DatagramSocket) {
    this.name = name;
    this.address = address;
    this.identity = generateIdentity();
    this.#x25519 = generateX25519KeyPair();
    this.socket = socket;
  }

  static async start(name: string, address: Address): Promise<DemoNode> {
    return new DemoNode(name, address, await DatagramSocket.open());
  }

  /** The PILA frame that binds this node's X25519 key to its node ID and Ed25519 identity. */
  authKeyExchange(): Uint8Array {
    return createAuthKeyExchange(this.identity, this.address.node, this.#x25519.publicKey);
  }

  /**
   * Checks a peer's PILA against the Ed25519 key the directory holds for it and derives the
   * tunnel key. Throws a PilotError (CRYPTO_BAD_SIGNATURE, CRYPTO_KEY_MISMATCH) on a bad frame.
   */
  acceptAuthKeyExchange(frame: Uint8Array, registeredKey: Uint8Array, from: Endpoint): Uint8Array {
    const verified = verifyAuthKeyExchange(frame, registeredKey);
    const key = deriveTunnelKey(this.#x25519.privateKey, verified.x25519PublicKey);
    this.#tunnel = {
      peerNode: verified.senderNode,
      endpoint: from,
      key,
      sealer: createTunnelSealer({ key, senderNode: this.address.node }),
      opener: createTunnelOpener({ key, peerNode: verified.senderNode }),
    };
    return key;
  }

  get tunnel(): Tunnel {
    if (!this.#tunnel) throw new Error(`${this.name} has no tunnel yet`);
    return this.#tunnel;
  }

  /** Seals a packet into a PILS frame and sends it to the peer; returns the frame sent. */
  async sendPacket(packet: PacketInit): Promise<Uint8Array> {
    const frame = this.tunnel.sealer.seal(encodePacket(packet));
    await this.socket.send(frame, this.tunnel.endpoint);
    return frame;
  }

  /** Opens a PILS frame from the peer (replay window, then AES-GCM) and decodes the packet in it. */
  openPacket(frame: Uint8Array): Packet {
    return decodePacket(this.tunnel.opener.open(frame));
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}
