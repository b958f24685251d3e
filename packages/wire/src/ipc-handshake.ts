import type { State } from './_state.js';
import { type Codec, u8, u32 } from './codec.js';
import { subCommandCodec, textRest, type WritePass } from './ipc-fields.js';

/** Sub-commands of IPC Handshake (0x0F): the first payload byte. */
export const IpcHandshakeAction = {
  SEND: 0x01,
  APPROVE: 0x02,
  REJECT: 0x03,
  PENDING: 0x04,
  TRUSTED: 0x05,
  REVOKE: 0x06,
} as const;

export type IpcHandshakeAction = (typeof IpcHandshakeAction)[keyof typeof IpcHandshakeAction];

/** The payload of an IPC Handshake request; the daemon answers HandshakeOK with JSON. */
export type IpcHandshakeRequest =
  /** Ask `node` for trust, with a justification for its operator. */
  | { readonly action: 'send'; readonly node: number; readonly justification: string }
  | { readonly action: 'approve'; readonly node: number }
  | { readonly action: 'reject'; readonly node: number; readonly reason: string }
  /** List the requests waiting for our approval. */
  | { readonly action: 'pending' }
  /** List the trusted peers. */
  | { readonly action: 'trusted' }
  | { readonly action: 'revoke'; readonly node: number };

const justification = textRest('handshake justification');
const reason = textRest('handshake reason');

function write(op: WritePass, state: State, request: IpcHandshakeRequest): boolean {
  switch (request.action) {
    case 'send':
      u8[op](state, IpcHandshakeAction.SEND);
      u32[op](state, request.node);
      justification[op](state, request.justification);
      return true;
    case 'approve':
      u8[op](state, IpcHandshakeAction.APPROVE);
      u32[op](state, request.node);
      return true;
    case 'reject':
      u8[op](state, IpcHandshakeAction.REJECT);
      u32[op](state, request.node);
      reason[op](state, request.reason);
      return true;
    case 'pending':
      u8[op](state, IpcHandshakeAction.PENDING);
      return true;
    case 'trusted':
      u8[op](state, IpcHandshakeAction.TRUSTED);
      return true;
    case 'revoke':
      u8[op](state, IpcHandshakeAction.REVOKE);
      u32[op](state, request.node);
      return true;
    default:
      return false;
  }
}

function read(action: number, state: State): IpcHandshakeRequest | undefined {
  switch (action) {
    case IpcHandshakeAction.SEND: {
      const node = u32.decode(state);
      return { action: 'send', node, justification: justification.decode(state) };
    }
    case IpcHandshakeAction.APPROVE:
      return { action: 'approve', node: u32.decode(state) };
    case IpcHandshakeAction.REJECT: {
      const node = u32.decode(state);
      return { action: 'reject', node, reason: reason.decode(state) };
    }
    case IpcHandshakeAction.PENDING:
      return { action: 'pending' };
    case IpcHandshakeAction.TRUSTED:
      return { action: 'trusted' };
    case IpcHandshakeAction.REVOKE:
      return { action: 'revoke', node: u32.decode(state) };
    default:
      return undefined;
  }
}

/** `[u8 action][fields]`; the text fields run to the end of the message. */
export const ipcHandshakeRequest: Codec<IpcHandshakeRequest> = subCommandCodec('handshake', write, read);
