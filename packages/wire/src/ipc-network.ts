import type { State } from './_state.js';
import { type Codec, u8, u16, u32 } from './codec.js';
import { flag, subCommandCodec, textRest, type WritePass } from './ipc-fields.js';

/** Sub-commands of IPC Network (0x1F): the first payload byte. */
export const IpcNetworkAction = {
  LIST: 0x01,
  JOIN: 0x02,
  LEAVE: 0x03,
  MEMBERS: 0x04,
  INVITE: 0x05,
  POLL_INVITES: 0x06,
  RESPOND_INVITE: 0x07,
} as const;

export type IpcNetworkAction = (typeof IpcNetworkAction)[keyof typeof IpcNetworkAction];

/** The payload of an IPC Network request; the daemon answers NetworkOK with the registry's JSON. */
export type IpcNetworkRequest =
  | { readonly action: 'list' }
  /** `token` is empty for an open network. */
  | { readonly action: 'join'; readonly network: number; readonly token: string }
  | { readonly action: 'leave'; readonly network: number }
  | { readonly action: 'members'; readonly network: number }
  | { readonly action: 'invite'; readonly network: number; readonly node: number }
  | { readonly action: 'pollInvites' }
  | { readonly action: 'respondInvite'; readonly network: number; readonly accept: boolean };

const token = textRest('network token');
const accept = flag('invite answer');

function write(op: WritePass, state: State, request: IpcNetworkRequest): boolean {
  switch (request.action) {
    case 'list':
      u8[op](state, IpcNetworkAction.LIST);
      return true;
    case 'join':
      u8[op](state, IpcNetworkAction.JOIN);
      u16[op](state, request.network);
      token[op](state, request.token);
      return true;
    case 'leave':
      u8[op](state, IpcNetworkAction.LEAVE);
      u16[op](state, request.network);
      return true;
    case 'members':
      u8[op](state, IpcNetworkAction.MEMBERS);
      u16[op](state, request.network);
      return true;
    case 'invite':
      u8[op](state, IpcNetworkAction.INVITE);
      u16[op](state, request.network);
      u32[op](state, request.node);
      return true;
    case 'pollInvites':
      u8[op](state, IpcNetworkAction.POLL_INVITES);
      return true;
    case 'respondInvite':
      u8[op](state, IpcNetworkAction.RESPOND_INVITE);
      u16[op](state, request.network);
      accept[op](state, request.accept);
      return true;
    default:
      return false;
  }
}

function read(action: number, state: State): IpcNetworkRequest | undefined {
  switch (action) {
    case IpcNetworkAction.LIST:
      return { action: 'list' };
    case IpcNetworkAction.JOIN: {
      const network = u16.decode(state);
      return { action: 'join', network, token: token.decode(state) };
    }
    case IpcNetworkAction.LEAVE:
      return { action: 'leave', network: u16.decode(state) };
    case IpcNetworkAction.MEMBERS:
      return { action: 'members', network: u16.decode(state) };
    case IpcNetworkAction.INVITE: {
      const network = u16.decode(state);
      return { action: 'invite', network, node: u32.decode(state) };
    }
    case IpcNetworkAction.POLL_INVITES:
      return { action: 'pollInvites' };
    case IpcNetworkAction.RESPOND_INVITE: {
      const network = u16.decode(state);
      return { action: 'respondInvite', network, accept: accept.decode(state) };
    }
    default:
      return undefined;
  }
}

/** `[u8 action][fields]`; the join token runs to the end of the message. */
export const ipcNetworkRequest: Codec<IpcNetworkRequest> = subCommandCodec('network', write, read);
