import { seqDiff } from '../wire.js';

const SIZE = 128;

/**
 * At-most-once delivery for datagrams. Our datagrams carry a per-sender counter in the sequence
 * field (the reference sends 0 there and ignores it on receipt, so this stays compatible); a
 * counter seen before, or older than the window, is a duplicate. A jump of more than 2^16 back is
 * taken as a restarted sender and resets the window. Counter 0 (a reference peer) is never deduplicated.
 */
export class DatagramWindow {
  private max = 0;
  private readonly bits = new Uint32Array(SIZE / 32);
  private started = false;

  /** True when `counter` is new (and records it). */
  accept(counter: number): boolean {
    if (counter === 0) return true;
    if (!this.started) {
      this.started = true;
      this.max = counter;
      this.bits.fill(0);
      this.set(counter);
      return true;
    }
    const ahead = seqDiff(counter, this.max);
    if (ahead > 0) {
      if (ahead >= SIZE) this.bits.fill(0);
      else for (let i = 1; i <= ahead; i++) this.clear(this.max + i);
      this.max = counter >>> 0;
      this.set(counter);
      return true;
    }
    if (-ahead >= 0x1_0000) {
      this.started = false;
      return this.accept(counter);
    }
    if (-ahead >= SIZE) return false;
    if (this.has(counter)) return false;
    this.set(counter);
    return true;
  }

  private index(counter: number): [number, number] {
    const slot = (counter >>> 0) % SIZE;
    return [slot >>> 5, 1 << (slot & 31)];
  }
  private set(counter: number): void {
    const [word, bit] = this.index(counter);
    this.bits[word] = this.bits[word]! | bit;
  }
  private clear(counter: number): void {
    const [word, bit] = this.index(counter);
    this.bits[word] = this.bits[word]! & ~bit;
  }
  private has(counter: number): boolean {
    const [word, bit] = this.index(counter);
    return (this.bits[word]! & bit) !== 0;
  }
}
