// The lab's fixed addresses (see /work/shared/natlab/README.md). They exist only inside the
// namespaces the lab creates, so every lab (whatever its NL= prefix) uses the same ones.

/** Where the NAT lab can place a peer: behind a router in one of its modes, or on the public bridge. */
export type NatPlacement = 'public' | 'fullcone' | 'ei' | 'sym' | 'none';
/** A router's NAT mode (`lab.sh nat`): every placement but `public`. */
export type RouterMode = Exclude<NatPlacement, 'public'>;
export type LabPeer = 'p1' | 'p2';
export type LabRouter = 'r1' | 'r2';
/** A namespace of the lab. */
export type LabNamespace = LabPeer | LabRouter | 'pub';

/** The public host (`pub`, the "internet"): where a rendezvous or relay runs. */
export const LAB_PUBLIC_IP = '198.18.0.1';

const WAN_IP: Record<LabPeer, string> = { p1: '198.18.0.10', p2: '198.18.0.20' };
const PUBLIC_PEER_IP: Record<LabPeer, string> = { p1: '198.18.0.11', p2: '198.18.0.21' };
const LAN_IP: Record<LabPeer, string> = { p1: '10.1.0.2', p2: '10.2.0.2' };

/** The router in front of a peer. */
export function routerOf(peer: LabPeer): LabRouter {
  return peer === 'p1' ? 'r1' : 'r2';
}

/** The peer's own interface address for a placement (its LAN address behind a router). */
export function localIpOf(peer: LabPeer, placement: NatPlacement): string {
  return placement === 'public' ? PUBLIC_PEER_IP[peer] : LAN_IP[peer];
}

/** The address `pub` sees the peer's packets come from: the router's WAN address, or the peer's own. */
export function publicIpOf(peer: LabPeer, placement: NatPlacement): string {
  return placement === 'public' ? PUBLIC_PEER_IP[peer] : WAN_IP[peer];
}
