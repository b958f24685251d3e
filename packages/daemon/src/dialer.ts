import type { PilotStream } from '@pilot/transport/node';
import { type Address, BROADCAST_NODE, formatAddress, isPilotError } from '@pilot/wire';
import { SERVICE_PORTS } from './built-in-services.js';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { HandshakeMessage } from './trust.js';
import { withTimeout } from './with-timeout.js';

/** How long a Dial (or a datagram's tunnel setup) may take without `--dial-timeout`. */
export const DEFAULT_DIAL_TIMEOUT = 20_000;
const HANDSHAKE_SEND_TIMEOUT = 8_000;

/** Outgoing streams: the tunnel to a node (after the registry's privacy check), then the stream. */
export class Dialer {
  readonly #ctx: DaemonContext;

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  /** Ensures the tunnel, then opens a stream (DAEMON_* / TRANSPORT_* / DIR_* errors). */
  async dial(address: Address, port: number, timeoutMs: number): Promise<PilotStream> {
    const ctx = this.#ctx;
    const tunnel = ctx.tunnel;
    const transport = ctx.transport;
    if (tunnel === undefined || transport === undefined || ctx.closing)
      throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is shutting down');
    if (address.node === ctx.nodeId)
      throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'cannot dial this node itself');
    if (address.node === BROADCAST_NODE || address.node === 0)
      throw daemonError(
        DaemonErrorCode.INVALID_ARGUMENT,
        `cannot open a stream to ${formatAddress(address)}`,
      );
    if (port === 0) throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'port 0 takes no streams');
    const started = Date.now();
    await this.ensureTunnel(address.node, timeoutMs);
    const left = Math.max(1000, timeoutMs - (Date.now() - started));
    ctx.pathMtu?.update(address.node);
    ctx.checksumFree?.update(address.node);
    return withTimeout(transport.connect(address, port), left, 'connect');
  }

  /**
   * Sets up the tunnel to `node`. Without one yet, the registry must let us resolve the node first:
   * a private node that does not trust us is refused here (DAEMON_NOT_TRUSTED), not probed through
   * the beacon.
   */
  async ensureTunnel(node: number, timeoutMs: number): Promise<void> {
    const tunnel = this.#ctx.tunnel;
    if (tunnel === undefined) throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is shutting down');
    if (tunnel.peer(node)?.authenticated !== true) {
      try {
        await this.#ctx.resolves.resolve(node);
      } catch (error) {
        if (isPilotError(error, 'DIR_RESOLVE_DENIED'))
          throw daemonError(
            DaemonErrorCode.NOT_TRUSTED,
            `node ${node} is private and does not trust this node`,
            error,
          );
        if (isPilotError(error, 'DIR_NOT_FOUND'))
          throw daemonError(DaemonErrorCode.NOT_FOUND, `node ${node} is not registered`, error);
        throw error;
      }
    }
    await withTimeout(tunnel.ensureTunnel(node, { timeoutMs }), timeoutMs, 'tunnel setup');
  }

  /** Delivers one trust handshake message to `node`'s port 444. */
  async sendHandshake(node: number, message: HandshakeMessage): Promise<void> {
    const stream = await this.dial({ network: 0, node }, SERVICE_PORTS.handshake, HANDSHAKE_SEND_TIMEOUT);
    // Done when the peer has read the message and closed its side too (the receiver closes after
    // one message): a revoke forgets the tunnel right after, which would strand unsent bytes.
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.once('close', () => resolve());
        stream.resume();
        stream.end(JSON.stringify(message));
      }),
      HANDSHAKE_SEND_TIMEOUT,
      'handshake delivery',
    ).catch((error: unknown) => {
      stream.destroy();
      throw error;
    });
  }
}
