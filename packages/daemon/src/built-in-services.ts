import { WellKnownPort } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { ExchangeQuota } from './exchange-quota.js';
import type { Mailbox } from './mailbox.js';
import { serveDataExchange } from './services/data-exchange.js';
import { serveEcho } from './services/echo.js';
import { EventBroker } from './services/event-stream.js';
import type { ServiceContext } from './services/service-context.js';
import { serveStdio } from './services/stdio.js';
import type { TrustManager } from './trust.js';

/** The ports of the built-in services, by the name info's conn_list shows. */
export const SERVICE_PORTS: {
  readonly echo: number;
  readonly stdio: number;
  readonly dataexchange: number;
  readonly eventstream: number;
  readonly handshake: number;
} = {
  echo: WellKnownPort.ECHO,
  stdio: WellKnownPort.STDIO,
  dataexchange: WellKnownPort.DATA_EXCHANGE,
  eventstream: WellKnownPort.EVENT_STREAM,
  handshake: WellKnownPort.HANDSHAKE,
};

/** The name of the built-in service on `port` (`service` for none). */
export function serviceName(port: number): string {
  return Object.entries(SERVICE_PORTS).find(([, p]) => p === port)?.[0] ?? 'service';
}

/**
 * Serves the built-in services on their ports: the trust handshake always, the others unless turned
 * off (`--no-echo`, `--no-stdio`, `--no-dataexchange`, `--no-eventstream`). Sets `ctx.broker` and
 * `ctx.exchangeQuota` (info reports them).
 */
export function startBuiltInServices(ctx: DaemonContext, mailbox: Mailbox, trust: TrustManager): void {
  const o = ctx.options;
  const budgets = ctx.budgets;
  const context: ServiceContext = {
    log: ctx.log,
    mailbox,
    emit: (event, data) => ctx.emit(event, data),
  };
  const broker = new EventBroker(context);
  ctx.broker = broker;
  const quota = new ExchangeQuota({
    filesPerPeer: budgets['exchange-files-per-peer'],
    bytesPerPeer: budgets['exchange-bytes-per-peer'],
    windowMs: budgets['exchange-window-ms'],
  });
  ctx.exchangeQuota = quota;
  const ports = ctx.ports;
  ports.serve(SERVICE_PORTS.handshake, (served, entry) => trust.serve(served, entry.remote.node));
  if (o.noEcho !== true) ports.serve(SERVICE_PORTS.echo, (served) => serveEcho(served));
  if (o.noStdio !== true) ports.serve(SERVICE_PORTS.stdio, (served) => serveStdio(served, context));
  if (o.noDataexchange !== true)
    ports.serve(SERVICE_PORTS.dataexchange, (served, entry) =>
      serveDataExchange(served, context, {
        node: entry.remote.node,
        quota,
        filesPerStream: budgets['exchange-files-per-stream'],
        onTooManyFiles: () => ctx.exchangeFilesRefused++,
      }),
    );
  if (o.noEventstream !== true) ports.serve(SERVICE_PORTS.eventstream, (served) => broker.serve(served));
}
