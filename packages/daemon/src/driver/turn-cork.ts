import type { Socket } from 'node:net';

/**
 * Corks a socket until the end of the current event-loop turn, so that the frames written in one
 * turn (replies, the Recvs of every stream that got data, a Send's header and its data) leave in one
 * writev instead of a write each. Used by both ends of the IPC socket.
 */
export class TurnCork {
  readonly #socket: Socket;
  #corked = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      this.#socket.uncork();
    });
  }
}
