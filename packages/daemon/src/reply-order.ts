import type { IpcMessage } from '@pilot/wire';

type IpcMessageType = IpcMessage['type'];

/** The success reply of each IPC request (reference §9.3); anything else is answered by Error only. */
const REPLY_OF: Readonly<Partial<Record<IpcMessageType, IpcMessageType>>> = {
  bind: 'bindOk',
  dial: 'dialOk',
  close: 'closeOk',
  info: 'infoOk',
  handshake: 'handshakeOk',
  resolveHostname: 'resolveHostnameOk',
  setHostname: 'setHostnameOk',
  setVisibility: 'setVisibilityOk',
  deregister: 'deregisterOk',
  setTags: 'setTagsOk',
  setWebhook: 'setWebhookOk',
  setTaskExec: 'setTaskExecOk',
  network: 'networkOk',
  health: 'healthOk',
  managed: 'managedOk',
  sendFile: 'sendFileOk',
};

/** The reply type a driver waits for after sending `request`, or undefined when it waits for none. */
export function replyTypeOf(request: IpcMessageType): IpcMessageType | undefined {
  return REPLY_OF[request];
}

/** One request's place in the reply order of its IPC connection. */
export interface ReplySlot {
  readonly expect: IpcMessageType | undefined;
}

interface Slot extends ReplySlot {
  answer?: { readonly error: boolean; readonly deliver: () => void };
}

/**
 * When each reply of one IPC connection may leave, so that requests can be served concurrently
 * without a driver mistaking whose reply it is. Drivers (the reference's and ours) match a reply to
 * the oldest request waiting for that reply type, and an Error to the oldest waiting request of any
 * type. So a success reply leaves once every earlier request waiting for the same type has been
 * answered, and an Error once every earlier request has; until then it is held. An InfoOK never waits
 * for a slow Dial; a Dial's Error does wait for an earlier Dial.
 */
export class ReplyOrder {
  readonly #slots: Slot[] = [];

  /** Requests not answered yet (held answers included). */
  get waiting(): number {
    return this.#slots.length;
  }

  /** Takes the next place, for a request answered by `expect` (or an Error). */
  enter(expect: IpcMessageType | undefined): ReplySlot {
    const slot: Slot = { expect };
    this.#slots.push(slot);
    return slot;
  }

  /**
   * Records `slot`'s answer: `deliver` runs (synchronously, in request order where the rule asks for
   * it) as soon as the answer may leave, possibly now, and then the answers it was holding back.
   */
  answer(slot: ReplySlot, error: boolean, deliver: () => void): void {
    const entry = slot as Slot;
    if (entry.answer !== undefined || !this.#slots.includes(entry)) return;
    entry.answer = { error, deliver };
    this.#flush();
  }

  /** Forgets every held answer (the connection is gone). */
  clear(): void {
    this.#slots.length = 0;
  }

  #flush(): void {
    for (let progress = true; progress; ) {
      progress = false;
      const blocked = new Set<IpcMessageType | undefined>();
      for (let i = 0; i < this.#slots.length; i++) {
        const slot = this.#slots[i] as Slot;
        const answer = slot.answer;
        if (answer !== undefined && (answer.error ? i === 0 : !blocked.has(slot.expect))) {
          this.#slots.splice(i, 1);
          answer.deliver();
          progress = true;
          break;
        }
        blocked.add(slot.expect);
      }
    }
  }
}
