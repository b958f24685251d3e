import { TlsRelayLink } from '@pilot/nat';
import type { TunnelContext } from './context.js';
import type { TlsRelayOptions } from './types.js';

/** While relaying over TLS in `auto` mode, a beacon discover over UDP is tried this often. */
const UDP_PROBE_MS = 2000;
/** The short UDP probe: a discover answered within this, or UDP counts as blocked. */
const UDP_PROBE = { rto: 250, retries: 3, timeout: 3000 } as const;

/**
 * The relay over WebSocket-over-TLS (`--transport auto|tcp`): when UDP to the beacon gets no answer
 * (auto) or UDP is not to be used at all (tcp), relayed frames go to the rendezvous' TLS relay
 * instead of the beacon's UDP port, and come back from it. Only the carrier of the relay changes:
 * a peer's keys, its transport streams and the frames (PILS-sealed end to end) are the same, so a
 * tunnel moves between relay-tls, UDP relay and direct in place.
 *
 * In `auto` mode the relay goes over TLS after a discover to the beacon went unanswered, while
 * discovers keep being tried every 2 s; the first answer takes the relay back to UDP (the TLS
 * connection closes, so the beacon delivers to our UDP endpoint again) and starts the search for
 * direct paths at once.
 */
export class TlsPath {
  /** Relayed frames go over TLS now. */
  active = false;
  private link: TlsRelayLink | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  /** Where the TLS relay is: the option, or what the daemon learned from the registry later. */
  relay: TlsRelayOptions | undefined;

  constructor(private readonly ctx: TunnelContext) {
    this.relay = ctx.options.tlsRelay;
  }

  get mode(): 'auto' | 'udp' | 'tcp' {
    return this.relay === undefined ? 'udp' : (this.ctx.options.transportMode ?? 'auto');
  }

  /** The relay learned after construction (the registry's `wss_port`); a link already open is replaced. */
  setRelay(relay: TlsRelayOptions): void {
    this.relay = relay;
    if (this.link !== undefined) this.restartLink();
  }

  /** Whether the TLS link is authenticated and open. */
  get up(): boolean {
    return this.link?.up === true;
  }

  /** Our node ID is known (or changed): in `tcp` mode the link opens at once. */
  start(): void {
    const ctx = this.ctx;
    if (ctx.nodeId === 0) return;
    if (this.mode === 'tcp') this.activate('--transport tcp');
    else if (this.link !== undefined) this.restartLink();
    // auto: a short probe decides at once instead of the beacon client's long retransmissions.
    if (this.mode === 'auto' && !this.active) void ctx.beacon.discover(UDP_PROBE);
  }

  /** Probes UDP to the beacon now (short), as after a network change; true when it answered. */
  async probe(): Promise<boolean> {
    return (await this.ctx.beacon.discover(UDP_PROBE)) !== undefined;
  }

  /** A discover to the beacon was answered over UDP. */
  onUdpAnswer(): void {
    if (this.mode !== 'auto' || !this.active) return;
    const ctx = this.ctx;
    this.active = false;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.link?.close();
    this.link = undefined;
    ctx.count('tls_udp_restored');
    ctx.log('info', 'UDP to the beacon answers again: relaying over UDP, looking for direct paths');
    ctx.emit({ type: 'tunnel.udp_restored' });
    // Relayed peers go over the UDP relay from now on; look for direct paths right away.
    ctx.relay.retryDirect();
  }

  /** A discover to the beacon went unanswered. */
  onUdpSilent(): void {
    if (this.mode !== 'auto' || this.active || this.ctx.nodeId === 0) return;
    this.activate('no UDP answer from the beacon');
    this.probeTimer = setInterval(() => void this.ctx.beacon.discover(UDP_PROBE), UDP_PROBE_MS);
    this.probeTimer.unref();
  }

  /** Relays `frame` to `destination` over TLS; false when the link is down or its queue is full. */
  send(destination: number, frame: Uint8Array): boolean {
    const link = this.link;
    if (link === undefined) return false;
    const sent = link.send(destination, frame);
    this.ctx.count(sent ? 'relay_tls_sent' : 'relay_tls_dropped');
    return sent;
  }

  /** Counters of the TLS link, for info. */
  status(): { mode: string; active: boolean; up: boolean; queued_bytes: number; error: string } {
    return {
      mode: this.mode,
      active: this.active,
      up: this.up,
      queued_bytes: this.link?.queuedBytes ?? 0,
      error: this.link?.lastError ?? '',
    };
  }

  close(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.link?.close();
    this.link = undefined;
    this.active = false;
  }

  private activate(why: string): void {
    const ctx = this.ctx;
    this.active = true;
    ctx.count('tls_activated');
    ctx.log('info', 'relaying over TLS', { why, relay: this.describe() });
    ctx.emit({ type: 'tunnel.relay_tls', why });
    if (this.link === undefined) this.restartLink();
    // Every peer with keys goes on the relay (over TLS now); direct paths over UDP are not trusted
    // to work any more. Those that still do will answer and be kept by the liveness checks.
    if (this.mode === 'tcp') for (const peer of ctx.peerTable.values()) ctx.relay.activate(peer);
  }

  private describe(): string {
    const relay = this.relay;
    return relay === undefined ? '' : `${relay.host}:${relay.port}`;
  }

  private restartLink(): void {
    const ctx = this.ctx;
    const relay = this.relay;
    this.link?.close();
    this.link = undefined;
    if (relay === undefined || ctx.nodeId === 0 || ctx.closed) return;
    this.link = new TlsRelayLink({
      host: relay.host,
      port: relay.port,
      ...(relay.path === undefined ? {} : { path: relay.path }),
      identity: ctx.options.identity,
      node: ctx.nodeId,
      tls: relay.tls,
      ...(relay.proxy === undefined ? {} : { proxy: relay.proxy }),
      onDeliver: (source, frame) => {
        if (ctx.closed) return;
        const packet = ctx.relay.openDeliverFrom(source, frame);
        if (packet !== undefined) ctx.deliver(packet);
      },
      onState: (up, detail) => {
        ctx.count(up ? 'tls_link_up' : 'tls_link_down');
        ctx.log(up ? 'info' : 'debug', up ? 'TLS relay link up' : 'TLS relay link down', {
          relay: this.describe(),
          detail,
        });
      },
    });
  }
}
