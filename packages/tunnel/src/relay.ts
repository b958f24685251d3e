import {
  decodeBeaconMessage,
  encodeBeaconMessage,
  isPilotError,
  sameUdpAddress,
  TunnelMagic,
  type UdpAddress,
} from '@pilot/wire';
import { readU32 } from './bytes.js';
import type { TunnelContext } from './context.js';
import type { Peer } from './peer.js';

/**
 * The beacon relay: wrapping frames for it, opening its deliveries (only from the beacon in use,
 * only when the inner frame names the same sender), switching a peer to it, and the relayed
 * tunnels' periodic search for a direct path again.
 */
export class Relay {
  constructor(private readonly ctx: TunnelContext) {}

  wrap(destination: number, frame: Uint8Array): Uint8Array {
    return encodeBeaconMessage({ type: 'relay', source: this.ctx.nodeId, destination, frame });
  }

  openDeliver(frame: Uint8Array, from: UdpAddress): Uint8Array | undefined {
    const ctx = this.ctx;
    const beacon = ctx.beacon.address;
    if (beacon === undefined || !sameUdpAddress(from, beacon)) {
      ctx.drop('relay_not_from_beacon');
      return undefined;
    }
    let source: number;
    let inner: Uint8Array;
    try {
      const message = decodeBeaconMessage(frame);
      if (message.type !== 'relayDeliver') return undefined;
      source = message.source;
      inner = message.frame;
    } catch (error) {
      if (!isPilotError(error)) throw error;
      ctx.drop('relay_malformed');
      return undefined;
    }
    ctx.count('relay_received');
    return this.openDeliverFrom(source, inner);
  }

  /**
   * A relayed frame the relay says `source` sent (a UDP delivery from the beacon, or one that came
   * over our authenticated TLS relay link): the inner frame's own sender must agree.
   */
  openDeliverFrom(source: number, inner: Uint8Array): Uint8Array | undefined {
    const ctx = this.ctx;
    // The beacon does not authenticate the source it names: the inner frame's own sender must agree.
    if (inner.length >= 8) {
      const magic = readU32(inner, 0);
      const named =
        magic === TunnelMagic.ENCRYPTED ||
        magic === TunnelMagic.AUTH_KEY_EXCHANGE ||
        magic === TunnelMagic.KEY_EXCHANGE;
      if (named && readU32(inner, 4) !== source) {
        ctx.drop('relay_sender_mismatch');
        return undefined;
      }
    }
    return ctx.sealing.openTunnelFrame(inner, { kind: 'relay' }, source);
  }

  activate(peer: Peer): void {
    const ctx = this.ctx;
    const beacon = ctx.beacon.address;
    if (beacon === undefined || peer.relay) return;
    peer.relay = true;
    ctx.count('relay_activated');
    ctx.emit({
      type: 'tunnel.relay_activated',
      node_id: peer.nodeId,
      path: ctx.tlsPath.active ? 'relay-tls' : 'relay',
    });
  }

  /** Relayed tunnels look for a direct path again: a punch request and our PILA to the registry endpoint. */
  retryDirect(): void {
    const ctx = this.ctx;
    // --transport tcp: UDP is not to be used, whatever answers.
    // Relaying over TLS (auto): UDP is not answering; the first answer starts this search itself.
    if (ctx.tlsPath.mode === 'tcp' || ctx.tlsPath.active) return;
    for (const peer of ctx.peerTable.values()) {
      if (!peer.relay || peer.crypto === undefined) continue;
      ctx.count('direct_retries');
      ctx.beacon.requestPunch(peer.nodeId);
      ctx.directory.resolve(peer.nodeId).then(
        (found) => {
          for (const candidate of ctx.paths.candidatesOf(found))
            ctx.sendRawTo(ctx.keys.pilaFrame(peer.nodeId), candidate);
        },
        () => undefined,
      );
    }
  }
}
