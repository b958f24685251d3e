import type { State } from './_state.js';
import { type Codec, u8, u16, u32 } from './codec.js';
import { flag, i32, subCommandCodec, textRest, type WritePass } from './ipc-fields.js';

/** Sub-commands of IPC Managed (0x23), for managed networks: the first payload byte. */
export const IpcManagedAction = {
  SCORE: 0x01,
  STATUS: 0x02,
  RANKINGS: 0x03,
  CYCLE: 0x04,
  POLICY: 0x05,
  MEMBER_TAGS: 0x06,
} as const;

export type IpcManagedAction = (typeof IpcManagedAction)[keyof typeof IpcManagedAction];

/** The payload of an IPC Managed request; the daemon answers ManagedOK with JSON. */
export type IpcManagedRequest =
  /** Add `delta` (signed) to a member's score under `topic`. */
  | {
      readonly action: 'score';
      readonly network: number;
      readonly node: number;
      readonly delta: number;
      readonly topic: string;
    }
  | { readonly action: 'status'; readonly network: number }
  | { readonly action: 'rankings'; readonly network: number }
  | { readonly action: 'cycle'; readonly network: number }
  /** Read (`set` false, `json` usually empty) or replace the network's policy. */
  | { readonly action: 'policy'; readonly set: boolean; readonly network: number; readonly json: string }
  /** Read or replace a member's tags. */
  | {
      readonly action: 'memberTags';
      readonly set: boolean;
      readonly network: number;
      readonly node: number;
      readonly json: string;
    };

const topic = textRest('score topic');
const json = textRest('managed JSON');
const setFlag = flag('get/set byte');

function write(op: WritePass, state: State, request: IpcManagedRequest): boolean {
  switch (request.action) {
    case 'score':
      u8[op](state, IpcManagedAction.SCORE);
      u16[op](state, request.network);
      u32[op](state, request.node);
      i32[op](state, request.delta);
      topic[op](state, request.topic);
      return true;
    case 'status':
    case 'rankings':
    case 'cycle':
      u8[op](
        state,
        request.action === 'status'
          ? IpcManagedAction.STATUS
          : request.action === 'rankings'
            ? IpcManagedAction.RANKINGS
            : IpcManagedAction.CYCLE,
      );
      u16[op](state, request.network);
      return true;
    case 'policy':
      u8[op](state, IpcManagedAction.POLICY);
      setFlag[op](state, request.set);
      u16[op](state, request.network);
      json[op](state, request.json);
      return true;
    case 'memberTags':
      u8[op](state, IpcManagedAction.MEMBER_TAGS);
      setFlag[op](state, request.set);
      u16[op](state, request.network);
      u32[op](state, request.node);
      json[op](state, request.json);
      return true;
    default:
      return false;
  }
}

function read(action: number, state: State): IpcManagedRequest | undefined {
  switch (action) {
    case IpcManagedAction.SCORE: {
      const network = u16.decode(state);
      const node = u32.decode(state);
      const delta = i32.decode(state);
      return { action: 'score', network, node, delta, topic: topic.decode(state) };
    }
    case IpcManagedAction.STATUS:
      return { action: 'status', network: u16.decode(state) };
    case IpcManagedAction.RANKINGS:
      return { action: 'rankings', network: u16.decode(state) };
    case IpcManagedAction.CYCLE:
      return { action: 'cycle', network: u16.decode(state) };
    case IpcManagedAction.POLICY: {
      const set = setFlag.decode(state);
      const network = u16.decode(state);
      return { action: 'policy', set, network, json: json.decode(state) };
    }
    case IpcManagedAction.MEMBER_TAGS: {
      const set = setFlag.decode(state);
      const network = u16.decode(state);
      const node = u32.decode(state);
      return { action: 'memberTags', set, network, node, json: json.decode(state) };
    }
    default:
      return undefined;
  }
}

/** `[u8 action][fields]`; topics and JSON run to the end of the message. */
export const ipcManagedRequest: Codec<IpcManagedRequest> = subCommandCodec('managed', write, read);
