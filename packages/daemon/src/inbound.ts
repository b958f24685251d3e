import type { Datagram } from '@pilot/transport';
import type { PilotStream } from '@pilot/transport/node';
import { formatAddress, type IpcMessage } from '@pilot/wire';
import { serviceName } from './built-in-services.js';
import type { DaemonContext } from './daemon-context.js';
import { errorMessage } from './errors.js';
import { pipeToClient } from './stream-pipe.js';

/**
 * A stream the transport accepted: to the IPC client that bound its port (Accept, then piped), else
 * to the built-in service on it, else reset.
 */
export function onInboundStream(ctx: DaemonContext, stream: PilotStream): void {
  const port = stream.localPort;
  const remote = stream.remoteAddress;
  const owner = ctx.ports.owner(port);
  ctx.stats.accepted++;
  ctx.pathMtu?.update(remote.node);
  ctx.emit('conn.established', { from: formatAddress(remote), port, remote_port: stream.remotePort });
  if (owner !== undefined) {
    const entry = ctx.connections.add({
      stream,
      owner,
      service: undefined,
      localPort: port,
      remote,
      remotePort: stream.remotePort,
    });
    owner.send({
      type: 'accept',
      localPort: port,
      connId: entry.id,
      remoteAddress: remote,
      remotePort: stream.remotePort,
    });
    pipeToClient(ctx, entry, owner);
    return;
  }
  const service = ctx.ports.service(port);
  if (service === undefined) {
    stream.destroy();
    return;
  }
  const name = serviceName(port);
  const entry = ctx.connections.add({
    stream,
    owner: undefined,
    service: name,
    localPort: port,
    remote,
    remotePort: stream.remotePort,
  });
  stream.on('data', (chunk: Uint8Array) => {
    entry.bytesRecv += chunk.length;
  });
  stream.on('error', (error) =>
    ctx.log.debug('service stream error', { service: name, error: error.message }),
  );
  stream.on('close', () => ctx.connections.remove(entry.id));
  try {
    service({ stream, remote: formatAddress(remote), remotePort: stream.remotePort, localPort: port }, entry);
  } catch (error) {
    ctx.log.error('service failed', { service: name, error: errorMessage(error) });
    stream.destroy();
  }
}

/** A datagram the transport admitted: RecvFrom to every IPC client (the reference's behaviour). */
export function onInboundDatagram(ctx: DaemonContext, datagram: Datagram): void {
  ctx.stats.datagramsRecv++;
  if (datagram.payload.length === 0) return;
  const message: IpcMessage = {
    type: 'recvFrom',
    remoteAddress: datagram.peer,
    remotePort: datagram.srcPort,
    localPort: datagram.dstPort,
    data: datagram.payload,
  };
  for (const client of ctx.ipc?.clients ?? []) client.send(message);
  ctx.emit('data.datagram', {
    from: formatAddress(datagram.peer),
    port: datagram.dstPort,
    bytes: datagram.payload.length,
  });
}
