import type { Address } from '@pilot/transport';
import { PeerSetting } from './peer-setting.js';

/** What the policy needs to know of a peer, from the tunnel. */
export interface ChecksumFreePeers {
  /**
   * Both ends advertise `aead-checksum-free`, the peer in its own signed PILX (not only its
   * registry entry), and our tunnel seals with an AEAD (PILS).
   */
  negotiated(node: number): boolean;
}

/** The transport side: packets without a CRC to and from a node, or with one again. */
export interface ChecksumFreeTransport {
  setChecksumFree(address: Address, enabled: boolean): void;
}

/** Tunnel events after which a peer's capabilities may have changed (a new PILX, a new daemon). */
const CAPABILITY_EVENTS = new Set(['tunnel.established', 'tunnel.rekeyed', 'tunnel.capabilities']);

/**
 * Decides, per peer, whether packets go without the spec's CRC-32: only towards pilot-ts peers
 * that negotiated `aead-checksum-free`, whose every packet our tunnel seals in PILS (the AES-GCM
 * tag authenticates each byte, so the CRC adds nothing but ~5–8 % of a daemon's CPU on a bulk
 * transfer). The transport then writes the checksum field as zero towards them and skips the CRC
 * of what the tunnel hands up from them as AEAD-opened. Every other peer, reference peers above
 * all, keeps the CRC both ways, byte for byte as before.
 */
export class ChecksumPolicy extends PeerSetting<boolean> {
  constructor(peers: ChecksumFreePeers, transport: ChecksumFreeTransport, enabled = true) {
    super({
      decide: (node) => enabled && peers.negotiated(node),
      apply: (node, free) => transport.setChecksumFree({ network: 0, node }, free),
      off: false,
      events: CAPABILITY_EVENTS,
    });
  }

  /** Peers whose packets go without a CRC now (for tests and `pilotctl info`). */
  get peers(): ReadonlySet<number> {
    return new Set(this.current.keys());
  }
}
