/**
 * Bytes the application wrote that have not been segmented yet. Chunks are copied on entry (the
 * caller keeps its buffer) unless handed over, and cut into segments without copying unless a
 * segment spans chunks.
 */
export class SendBuffer {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  /**
   * Queues `bytes`. `handedOver`: the caller never modifies them again (a buffer read from a socket,
   * a received segment), so they are kept as they are; otherwise they are copied.
   */
  push(bytes: Uint8Array, handedOver = false): void {
    if (bytes.length === 0) return;
    // Not bytes.slice(): on a Buffer that is a view, and the caller may reuse its buffer once the
    // write is accepted. Segments are then cut from this private copy without copying again.
    this.chunks.push(handedOver ? bytes : Uint8Array.prototype.slice.call(bytes));
    this.size += bytes.length;
  }

  /** The first `n` queued bytes without removing them (for the SACK look-alike check). */
  peek(n: number): Uint8Array {
    return this.collect(Math.min(n, this.size), false);
  }

  /** Removes and returns up to `n` bytes. */
  take(n: number): Uint8Array {
    return this.collect(Math.min(n, this.size), true);
  }

  private collect(n: number, consume: boolean): Uint8Array {
    if (n <= 0) return new Uint8Array(0);
    const first = this.chunks[this.head]!;
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      if (consume) this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    let index = this.head;
    let offset = this.offset;
    while (filled < n) {
      const chunk = this.chunks[index]!;
      const part = Math.min(chunk.length - offset, n - filled);
      out.set(chunk.subarray(offset, offset + part), filled);
      filled += part;
      index++;
      offset = 0;
    }
    if (consume) this.advance(n);
    return out;
  }

  private advance(n: number): void {
    this.size -= n;
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[this.head]!;
      const available = chunk.length - this.offset;
      if (available > left) {
        this.offset += left;
        return;
      }
      left -= available;
      this.head++;
      this.offset = 0;
    }
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    if (this.size === 0) {
      this.chunks = [];
      this.head = 0;
    }
  }
}
