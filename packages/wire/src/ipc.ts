import type { State } from './_state.js';
import { type Address, address } from './address.js';
import { type Codec, createState, decode, encode, raw, u8, u16, u32 } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';
import { FRAME_HEADER_SIZE, IPC_MAX_FRAME } from './frame.js';
import { writeU32 } from './frame-bytes.js';
import { flag, textRest } from './ipc-fields.js';
import { type IpcHandshakeRequest, ipcHandshakeRequest } from './ipc-handshake.js';
import { type IpcManagedRequest, ipcManagedRequest } from './ipc-managed.js';
import { type IpcNetworkRequest, ipcNetworkRequest } from './ipc-network.js';

/**
 * The first byte of every IPC message between a driver and its daemon. A request's reply is the
 * next number (Bind 0x01 → BindOK 0x02), Error (0x0A) being the other possible reply.
 */
export const IpcCommand = {
  BIND: 0x01,
  BIND_OK: 0x02,
  DIAL: 0x03,
  DIAL_OK: 0x04,
  ACCEPT: 0x05,
  SEND: 0x06,
  RECV: 0x07,
  CLOSE: 0x08,
  CLOSE_OK: 0x09,
  ERROR: 0x0a,
  SEND_TO: 0x0b,
  RECV_FROM: 0x0c,
  INFO: 0x0d,
  INFO_OK: 0x0e,
  HANDSHAKE: 0x0f,
  HANDSHAKE_OK: 0x10,
  RESOLVE_HOSTNAME: 0x11,
  RESOLVE_HOSTNAME_OK: 0x12,
  SET_HOSTNAME: 0x13,
  SET_HOSTNAME_OK: 0x14,
  SET_VISIBILITY: 0x15,
  SET_VISIBILITY_OK: 0x16,
  DEREGISTER: 0x17,
  DEREGISTER_OK: 0x18,
  SET_TAGS: 0x19,
  SET_TAGS_OK: 0x1a,
  SET_WEBHOOK: 0x1b,
  SET_WEBHOOK_OK: 0x1c,
  SET_TASK_EXEC: 0x1d,
  SET_TASK_EXEC_OK: 0x1e,
  NETWORK: 0x1f,
  NETWORK_OK: 0x20,
  HEALTH: 0x21,
  HEALTH_OK: 0x22,
  MANAGED: 0x23,
  MANAGED_OK: 0x24,
  /**
   * pilot-ts extension, not in the reference: the driver asks its daemon to send a local file into
   * one of its data-exchange connections itself (the file is read where the daemon runs, which is
   * where the Unix socket's client runs too). A daemon without it answers Error, and the driver pipes
   * the file through Send as before.
   */
  SEND_FILE: 0x70,
  SEND_FILE_OK: 0x71,
} as const;

export type IpcCommand = (typeof IpcCommand)[keyof typeof IpcCommand];

/** The error code the reference daemon puts in every Error message. */
export const IPC_ERROR_GENERIC = 1;

/** Replies that carry a JSON document, kept as text: the codec neither parses nor checks it. */
export type IpcJsonReplyType =
  | 'infoOk'
  | 'handshakeOk'
  | 'resolveHostnameOk'
  | 'setHostnameOk'
  | 'setVisibilityOk'
  | 'deregisterOk'
  | 'setTagsOk'
  | 'setWebhookOk'
  | 'setTaskExecOk'
  | 'networkOk'
  | 'healthOk'
  | 'managedOk'
  | 'sendFileOk';

/** An IPC message without its 4-byte length (see encodeFrame / FrameDecoder), told apart by `type`. */
export type IpcMessage =
  | { readonly type: 'bind'; readonly port: number }
  | { readonly type: 'bindOk'; readonly port: number }
  | { readonly type: 'dial'; readonly address: Address; readonly port: number }
  | { readonly type: 'dialOk'; readonly connId: number }
  | {
      readonly type: 'accept';
      /** The bound port the connection arrived on (present in the reference's code, not its spec). */
      readonly localPort: number;
      readonly connId: number;
      readonly remoteAddress: Address;
      readonly remotePort: number;
    }
  | { readonly type: 'send'; readonly connId: number; readonly data: Uint8Array }
  | { readonly type: 'recv'; readonly connId: number; readonly data: Uint8Array }
  | { readonly type: 'close'; readonly connId: number }
  /** The reply to Close, and also sent unprompted when the remote side closed. */
  | { readonly type: 'closeOk'; readonly connId: number }
  | { readonly type: 'error'; readonly code: number; readonly message: string }
  | { readonly type: 'sendTo'; readonly address: Address; readonly port: number; readonly data: Uint8Array }
  | {
      readonly type: 'recvFrom';
      readonly remoteAddress: Address;
      readonly remotePort: number;
      /** The port the datagram was sent to (present in the reference's code, not its spec). */
      readonly localPort: number;
      readonly data: Uint8Array;
    }
  | { readonly type: 'info' }
  | { readonly type: 'handshake'; readonly request: IpcHandshakeRequest }
  | { readonly type: 'resolveHostname'; readonly hostname: string }
  | { readonly type: 'setHostname'; readonly hostname: string }
  | { readonly type: 'setVisibility'; readonly public: boolean }
  | { readonly type: 'deregister' }
  /** `json` is a JSON array of at most 3 tags, as text. */
  | { readonly type: 'setTags'; readonly json: string }
  /** An empty URL clears the webhook. */
  | { readonly type: 'setWebhook'; readonly url: string }
  | { readonly type: 'setTaskExec'; readonly enabled: boolean }
  | { readonly type: 'network'; readonly request: IpcNetworkRequest }
  | { readonly type: 'health' }
  | { readonly type: 'managed'; readonly request: IpcManagedRequest }
  /** pilot-ts extension (SEND_FILE): `json` describes the file (see the daemon's local-file-send). */
  | { readonly type: 'sendFile'; readonly connId: number; readonly json: string }
  | { readonly type: IpcJsonReplyType; readonly json: string };

const jsonReplyCommand: Readonly<Record<IpcJsonReplyType, number>> = {
  infoOk: IpcCommand.INFO_OK,
  handshakeOk: IpcCommand.HANDSHAKE_OK,
  resolveHostnameOk: IpcCommand.RESOLVE_HOSTNAME_OK,
  setHostnameOk: IpcCommand.SET_HOSTNAME_OK,
  setVisibilityOk: IpcCommand.SET_VISIBILITY_OK,
  deregisterOk: IpcCommand.DEREGISTER_OK,
  setTagsOk: IpcCommand.SET_TAGS_OK,
  setWebhookOk: IpcCommand.SET_WEBHOOK_OK,
  setTaskExecOk: IpcCommand.SET_TASK_EXEC_OK,
  networkOk: IpcCommand.NETWORK_OK,
  healthOk: IpcCommand.HEALTH_OK,
  managedOk: IpcCommand.MANAGED_OK,
  sendFileOk: IpcCommand.SEND_FILE_OK,
};

const jsonReplyType = new Map<number, IpcJsonReplyType>(
  Object.entries(jsonReplyCommand).map(([type, command]) => [command, type as IpcJsonReplyType]),
);

const errorText = textRest('error message');
const hostname = textRest('hostname');
const json = textRest('JSON text');
const url = textRest('webhook URL');
const visibility = flag('visibility');
const taskExec = flag('task execution');

type Op = 'preencode' | 'encode';

function write(op: Op, state: State, message: IpcMessage): void {
  switch (message.type) {
    case 'bind':
    case 'bindOk':
      u8[op](state, message.type === 'bind' ? IpcCommand.BIND : IpcCommand.BIND_OK);
      u16[op](state, message.port);
      return;
    case 'dial':
      u8[op](state, IpcCommand.DIAL);
      address[op](state, message.address);
      u16[op](state, message.port);
      return;
    case 'dialOk':
      u8[op](state, IpcCommand.DIAL_OK);
      u32[op](state, message.connId);
      return;
    case 'accept':
      u8[op](state, IpcCommand.ACCEPT);
      u16[op](state, message.localPort);
      u32[op](state, message.connId);
      address[op](state, message.remoteAddress);
      u16[op](state, message.remotePort);
      return;
    case 'send':
    case 'recv':
      u8[op](state, message.type === 'send' ? IpcCommand.SEND : IpcCommand.RECV);
      u32[op](state, message.connId);
      raw[op](state, message.data);
      return;
    case 'close':
    case 'closeOk':
      u8[op](state, message.type === 'close' ? IpcCommand.CLOSE : IpcCommand.CLOSE_OK);
      u32[op](state, message.connId);
      return;
    case 'error':
      u8[op](state, IpcCommand.ERROR);
      u16[op](state, message.code);
      errorText[op](state, message.message);
      return;
    case 'sendTo':
      u8[op](state, IpcCommand.SEND_TO);
      address[op](state, message.address);
      u16[op](state, message.port);
      raw[op](state, message.data);
      return;
    case 'recvFrom':
      u8[op](state, IpcCommand.RECV_FROM);
      address[op](state, message.remoteAddress);
      u16[op](state, message.remotePort);
      u16[op](state, message.localPort);
      raw[op](state, message.data);
      return;
    case 'info':
      u8[op](state, IpcCommand.INFO);
      return;
    case 'handshake':
      u8[op](state, IpcCommand.HANDSHAKE);
      ipcHandshakeRequest[op](state, message.request);
      return;
    case 'resolveHostname':
    case 'setHostname':
      u8[op](state, message.type === 'setHostname' ? IpcCommand.SET_HOSTNAME : IpcCommand.RESOLVE_HOSTNAME);
      hostname[op](state, message.hostname);
      return;
    case 'setVisibility':
      u8[op](state, IpcCommand.SET_VISIBILITY);
      visibility[op](state, message.public);
      return;
    case 'deregister':
      u8[op](state, IpcCommand.DEREGISTER);
      return;
    case 'setTags':
      u8[op](state, IpcCommand.SET_TAGS);
      json[op](state, message.json);
      return;
    case 'setWebhook':
      u8[op](state, IpcCommand.SET_WEBHOOK);
      url[op](state, message.url);
      return;
    case 'setTaskExec':
      u8[op](state, IpcCommand.SET_TASK_EXEC);
      taskExec[op](state, message.enabled);
      return;
    case 'network':
      u8[op](state, IpcCommand.NETWORK);
      ipcNetworkRequest[op](state, message.request);
      return;
    case 'health':
      u8[op](state, IpcCommand.HEALTH);
      return;
    case 'managed':
      u8[op](state, IpcCommand.MANAGED);
      ipcManagedRequest[op](state, message.request);
      return;
    case 'sendFile':
      u8[op](state, IpcCommand.SEND_FILE);
      u32[op](state, message.connId);
      json[op](state, message.json);
      return;
    default: {
      // An own-property check, so that a caller's `type: 'toString'` is refused like any unknown type.
      const command = Object.hasOwn(jsonReplyCommand, message.type)
        ? jsonReplyCommand[message.type]
        : undefined;
      if (command === undefined) {
        throw wireError(
          WireErrorCode.BAD_VALUE,
          `unknown IPC message type ${JSON.stringify((message as { type: unknown }).type)}`,
        );
      }
      u8[op](state, command);
      json[op](state, message.json);
    }
  }
}

function read(state: State): IpcMessage {
  const command = u8.decode(state);
  switch (command) {
    case IpcCommand.BIND:
      return { type: 'bind', port: u16.decode(state) };
    case IpcCommand.BIND_OK:
      return { type: 'bindOk', port: u16.decode(state) };
    case IpcCommand.DIAL: {
      const remote = address.decode(state);
      return { type: 'dial', address: remote, port: u16.decode(state) };
    }
    case IpcCommand.DIAL_OK:
      return { type: 'dialOk', connId: u32.decode(state) };
    case IpcCommand.ACCEPT: {
      const localPort = u16.decode(state);
      const connId = u32.decode(state);
      const remoteAddress = address.decode(state);
      return { type: 'accept', localPort, connId, remoteAddress, remotePort: u16.decode(state) };
    }
    case IpcCommand.SEND:
    case IpcCommand.RECV: {
      const connId = u32.decode(state);
      return { type: command === IpcCommand.SEND ? 'send' : 'recv', connId, data: raw.decode(state) };
    }
    case IpcCommand.CLOSE:
      return { type: 'close', connId: u32.decode(state) };
    case IpcCommand.CLOSE_OK:
      return { type: 'closeOk', connId: u32.decode(state) };
    case IpcCommand.ERROR: {
      const code = u16.decode(state);
      return { type: 'error', code, message: errorText.decode(state) };
    }
    case IpcCommand.SEND_TO: {
      const destination = address.decode(state);
      const port = u16.decode(state);
      return { type: 'sendTo', address: destination, port, data: raw.decode(state) };
    }
    case IpcCommand.RECV_FROM: {
      const remoteAddress = address.decode(state);
      const remotePort = u16.decode(state);
      const localPort = u16.decode(state);
      return { type: 'recvFrom', remoteAddress, remotePort, localPort, data: raw.decode(state) };
    }
    case IpcCommand.INFO:
      return { type: 'info' };
    case IpcCommand.HANDSHAKE:
      return { type: 'handshake', request: ipcHandshakeRequest.decode(state) };
    case IpcCommand.RESOLVE_HOSTNAME:
      return { type: 'resolveHostname', hostname: hostname.decode(state) };
    case IpcCommand.SET_HOSTNAME:
      return { type: 'setHostname', hostname: hostname.decode(state) };
    case IpcCommand.SET_VISIBILITY:
      return { type: 'setVisibility', public: visibility.decode(state) };
    case IpcCommand.DEREGISTER:
      return { type: 'deregister' };
    case IpcCommand.SET_TAGS:
      return { type: 'setTags', json: json.decode(state) };
    case IpcCommand.SET_WEBHOOK:
      return { type: 'setWebhook', url: url.decode(state) };
    case IpcCommand.SET_TASK_EXEC:
      return { type: 'setTaskExec', enabled: taskExec.decode(state) };
    case IpcCommand.NETWORK:
      return { type: 'network', request: ipcNetworkRequest.decode(state) };
    case IpcCommand.HEALTH:
      return { type: 'health' };
    case IpcCommand.MANAGED:
      return { type: 'managed', request: ipcManagedRequest.decode(state) };
    case IpcCommand.SEND_FILE: {
      const connId = u32.decode(state);
      return { type: 'sendFile', connId, json: json.decode(state) };
    }
    default: {
      const type = jsonReplyType.get(command);
      if (type === undefined) {
        throw wireError(
          WireErrorCode.BAD_VALUE,
          `unknown IPC command 0x${command.toString(16).padStart(2, '0')}`,
        );
      }
      return { type, json: json.decode(state) };
    }
  }
}

/** The codec of a whole IPC message (command byte and payload, no length prefix). */
export const ipcMessage: Codec<IpcMessage> = {
  preencode(state, message) {
    write('preencode', state, message);
  },
  encode(state, message) {
    write('encode', state, message);
  },
  decode: read,
};

/**
 * The bytes of `message`, without the 4-byte length. Out-of-range numbers are WIRE_OUT_OF_RANGE,
 * text that UTF-8 cannot carry and unknown types are WIRE_BAD_VALUE.
 */
export function encodeIpcMessage(message: IpcMessage): Uint8Array {
  return encode(ipcMessage, message);
}

/**
 * The message held in one frame's payload. It must fill the payload exactly: short is
 * WIRE_TRUNCATED, extra bytes after a fixed layout are WIRE_LENGTH_MISMATCH, an unknown command or
 * sub-command and malformed UTF-8 text are WIRE_BAD_VALUE. Data fields are views of `bytes`.
 */
export function decodeIpcMessage(bytes: Uint8Array): IpcMessage {
  return decode(ipcMessage, bytes);
}

/**
 * `message` framed for the socket, `[u32 length][command][payload]`, written in one buffer without
 * an intermediate copy. A message over IPC_MAX_FRAME is WIRE_OUT_OF_RANGE.
 */
export function encodeIpcFrame(message: IpcMessage, maxSize: number = IPC_MAX_FRAME): Uint8Array {
  const sizing = createState();
  ipcMessage.preencode(sizing, message);
  const size = sizing.end;
  if (size > maxSize) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `IPC message of ${size} bytes exceeds the limit of ${maxSize}`,
    );
  }
  const out = new Uint8Array(FRAME_HEADER_SIZE + size);
  writeU32(out, 0, size);
  ipcMessage.encode(createState(out, FRAME_HEADER_SIZE), message);
  return out;
}
