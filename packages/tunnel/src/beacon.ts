import { BeaconClient, type RetransmitOptions } from '@pilot/nat';
import type { UdpAddress } from '@pilot/wire';
import type { TunnelContext } from './context.js';

/**
 * The beacon in use and its fallbacks, and the beacon client on the tunnel socket: discovers (our
 * reflexive endpoint, and our registration for relay), punch requests, punch commands, failover.
 */
export class BeaconLink {
  /** The beacon in use (relay and punch requests go through it). */
  address: UdpAddress | undefined;
  /** The beacon and its fallbacks; `address` is the one in use. */
  private readonly addresses: readonly UdpAddress[];
  private index = 0;
  private client: BeaconClient | undefined;
  private offPunch: (() => void) | undefined;
  private ownEndpoint: UdpAddress | undefined;

  constructor(private readonly ctx: TunnelContext) {
    const { beacon, fallbackBeacons } = ctx.options;
    this.address = beacon;
    this.addresses = beacon === undefined ? [] : [beacon, ...(fallbackBeacons ?? [])];
  }

  /** (Re)creates the beacon client for our node and the beacon in use, and discovers through it. */
  start(): void {
    const ctx = this.ctx;
    const nodeId = ctx.nodeId;
    this.offPunch?.();
    this.client?.close();
    this.client = undefined;
    if (ctx.socket !== undefined && this.address !== undefined && !ctx.closed) {
      // With our identity, our discovers prove who we are: a beacon then lets no one else move our relay.
      this.client = new BeaconClient(ctx.socket, {
        node: nodeId,
        beacon: this.address,
        identity: ctx.options.identity,
      });
      this.offPunch = this.client.onPunchCommand((target) => ctx.punching.onPunchCommand(target));
      if (nodeId !== 0) void this.discover();
    }
  }

  /** Our reflexive endpoint as the beacon sees the tunnel socket (also registers us with the beacon). */
  async discover(options?: RetransmitOptions): Promise<UdpAddress | undefined> {
    const ctx = this.ctx;
    const client = this.client;
    if (client === undefined) return undefined;
    try {
      this.ownEndpoint = await client.discover(options);
      ctx.tlsPath.onUdpAnswer();
      return this.ownEndpoint;
    } catch (error) {
      ctx.count('discover_failed');
      if (!ctx.closed && client === this.client) ctx.tlsPath.onUdpSilent();
      ctx.log('debug', 'beacon discover failed', { error: String(error) });
      // The beacon does not answer: the next one of the network, if there is one (tunnels are kept;
      // relays and punches go through the new one from now on).
      if (this.addresses.length > 1 && !ctx.closed && client === this.client) {
        const from = this.address;
        this.index = (this.index + 1) % this.addresses.length;
        this.address = this.addresses[this.index];
        ctx.count('beacon_failover');
        ctx.log('warn', 'beacon unreachable: moved to the next one', {
          from: from === undefined ? '' : `${from.address}:${from.port}`,
          to: this.address === undefined ? '' : `${this.address.address}:${this.address.port}`,
        });
        this.start();
      }
      return undefined;
    }
  }

  /** Our reflexive endpoint from the last successful discover. */
  get endpoint(): UdpAddress | undefined {
    return this.ownEndpoint;
  }

  /**
   * Asks the beacon to have the node punch towards us (and tells us where to punch). The command
   * that comes back is ours (solicited) when it points at `ips`, or at the IP of the node's path.
   */
  requestPunch(nodeId: number, ips?: readonly string[]): void {
    if (this.client === undefined) return;
    const endpoint = this.ctx.peerTable.get(nodeId)?.endpoint;
    this.ctx.punching.asked(nodeId, ips ?? (endpoint === undefined ? undefined : [endpoint.address]));
    this.client.requestPunch(nodeId);
  }

  close(): void {
    this.offPunch?.();
    this.client?.close();
    this.client = undefined;
  }
}
