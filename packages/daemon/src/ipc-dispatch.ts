import { type IpcMessage, isPilotError } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError, errorMessage, ipcErrorCode } from './errors.js';
import { healthReport, infoReport } from './info-report.js';
import { sendDatagram } from './ipc-datagrams.js';
import {
  deregister,
  networkRequest,
  resolveHostname,
  setHostname,
  setTags,
  setVisibility,
} from './ipc-registry-requests.js';
import type { IpcClient, IpcHandler, IpcReply } from './ipc-server.js';
import {
  bindPort,
  closeConnection,
  dialStream,
  releaseClient,
  sendFileOnConnection,
  sendOnConnection,
} from './ipc-streams.js';
import { handshakeRequest } from './ipc-trust-requests.js';

/**
 * What the daemon does with each IPC message. Send, Close and SendTo act at once (in the order they
 * came); every other request runs concurrently with the client's others, and its reply leaves in
 * the order drivers need (ipc-server.ts, reply-order.ts).
 */
export class IpcDispatch implements IpcHandler {
  readonly #ctx: DaemonContext;

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  message(client: IpcClient, message: IpcMessage): void {
    const ctx = this.#ctx;
    switch (message.type) {
      case 'send':
        sendOnConnection(ctx, client, message.connId, message.data);
        return;
      case 'close': {
        const { connId } = message;
        client.respond('close', () => Promise.resolve(closeConnection(ctx, client, connId)));
        return;
      }
      case 'sendTo':
        sendDatagram(ctx, client, message.address, message.port, message.data);
        return;
      case 'sendFile': {
        const { connId, json } = message;
        client.respond('sendFile', () => sendFileOnConnection(ctx, client, connId, json));
        return;
      }
      default:
        // Concurrently with the client's other requests: the answer leaves in the order drivers need.
        client.respond(message.type, async () => {
          try {
            const reply = await this.#request(client, message);
            return 'type' in reply ? { message: reply } : reply;
          } catch (error) {
            if (!isPilotError(error))
              ctx.log.error('IPC request failed', { type: message.type, error: errorMessage(error) });
            return { message: { type: 'error', code: ipcErrorCode(error), message: errorMessage(error) } };
          }
        });
    }
  }

  closed(client: IpcClient): void {
    releaseClient(this.#ctx, client);
  }

  /** The reply to a request. */
  async #request(client: IpcClient, message: IpcMessage): Promise<IpcMessage | IpcReply> {
    const ctx = this.#ctx;
    const session = ctx.requireSession();
    switch (message.type) {
      case 'bind':
        return bindPort(ctx, client, message.port);
      case 'dial':
        return dialStream(ctx, client, message.address, message.port);
      case 'info':
        return jsonReply('infoOk', infoReport(ctx));
      case 'health':
        return jsonReply('healthOk', healthReport(ctx));
      case 'handshake':
        return jsonReply('handshakeOk', await handshakeRequest(ctx, message.request));
      case 'network':
        return jsonReply('networkOk', await networkRequest(ctx, message.request));
      case 'setWebhook': {
        ctx.webhook.setUrl(message.url);
        return jsonReply('setWebhookOk', { webhook: ctx.webhook.url });
      }
      case 'resolveHostname':
        return jsonReply('resolveHostnameOk', await resolveHostname(ctx, session, message.hostname));
      case 'setHostname':
        return jsonReply('setHostnameOk', await setHostname(ctx, session, message.hostname));
      case 'setVisibility':
        return jsonReply('setVisibilityOk', await setVisibility(ctx, session, message.public));
      case 'setTags':
        return jsonReply('setTagsOk', await setTags(ctx, session, message.json));
      case 'deregister':
        return jsonReply('deregisterOk', await deregister(ctx, session));
      case 'setTaskExec':
      case 'managed':
        throw daemonError(
          DaemonErrorCode.INVALID_ARGUMENT,
          `${message.type} is not supported by this daemon`,
        );
      default:
        throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, `${message.type} is not a request`);
    }
  }
}

/** A reply whose body is JSON (the reference's *OK replies to most requests). */
function jsonReply(type: IpcMessage['type'], value: unknown): IpcMessage {
  return { type, json: JSON.stringify(value) } as IpcMessage;
}
