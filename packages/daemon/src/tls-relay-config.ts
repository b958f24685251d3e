import { parseProxyUrl } from '@pilot/nat';
import type { TlsRelayOptions, TunnelManager, TunnelManagerOptions } from '@pilot/tunnel';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError } from './errors.js';
import { splitHostPort } from './options.js';
import type { RegistrySession } from './registry-session.js';

/**
 * `--wss` / `--transport` / `--proxy`: the tunnel's relay over TLS. Its certificate is the
 * registry's (the same rendezvous), so it is pinned to the registry's fingerprint, given or
 * remembered; a registry reached in plaintext gives no pin, and the relay is then refused.
 */
export function tlsRelayOptions(
  ctx: DaemonContext,
  session: RegistrySession,
): Pick<TunnelManagerOptions, 'tlsRelay' | 'transportMode'> {
  const o = ctx.options;
  if (o.transport === 'udp') return {};
  if (o.wss === undefined || o.wss === '') return { transportMode: o.transport ?? 'auto' };
  const { host, port } = splitHostPort(o.wss, '--wss');
  ctx.wssAddress = o.wss;
  return { transportMode: o.transport ?? 'auto', tlsRelay: tlsRelay(ctx, session, host, port) };
}

/**
 * `auto` without `--wss`: the relay the registry advertised (`wss_port`) on the registry's host. It
 * serves the registry's certificate, so it is used only when the registry is reached over TLS (a
 * fingerprint to pin it to); a plaintext registry gives no pin and no TLS relay.
 */
export function useAdvertisedTlsRelay(
  ctx: DaemonContext,
  session: RegistrySession,
  tunnel: TunnelManager,
): void {
  const o = ctx.options;
  const port = ctx.wssPort;
  if ((o.wss !== undefined && o.wss !== '') || o.transport === 'udp' || port === undefined) return;
  if ((o.registryFingerprint ?? session.link?.fingerprint ?? '') === '') {
    ctx.log.debug('the registry advertises a TLS relay, but is reached in plaintext: not used');
    return;
  }
  const host = session.host;
  ctx.wssAddress = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  tunnel.setTlsRelay(tlsRelay(ctx, session, host, port));
  ctx.log.info('TLS relay advertised by the registry', { wss: ctx.wssAddress });
}

/** The TLS relay at `host:port`, pinned to the registry's fingerprint (given or remembered). */
function tlsRelay(ctx: DaemonContext, session: RegistrySession, host: string, port: number): TlsRelayOptions {
  const o = ctx.options;
  const proxy = o.proxy === undefined || o.proxy === '' ? undefined : parseProxyUrl(o.proxy);
  return {
    host,
    port,
    ...(proxy === undefined ? {} : { proxy }),
    tls: {
      verify: (fingerprint) => {
        const pin = (o.registryFingerprint ?? session.link?.fingerprint)?.replace(/:/g, '').toLowerCase();
        if (pin === undefined || pin === '')
          throw daemonError(
            DaemonErrorCode.BAD_OPTION,
            'the TLS relay is pinned to the registry certificate: reach the registry over TLS',
          );
        if (fingerprint !== pin)
          throw daemonError(
            DaemonErrorCode.BAD_OPTION,
            `the TLS relay's certificate ${fingerprint} is not the registry's ${pin}`,
          );
      },
    },
  };
}
