const SLAB_BYTES = 256 * 1024;

/**
 * Hands out consecutive, never reused regions of 256 KiB slabs as plain Uint8Array views: about
 * half the cost of `Buffer.allocUnsafe` (a FastBuffer over Node's 8 KiB pool) per frame. A slab
 * is garbage once every frame cut from it was sent and dropped, so nothing is ever overwritten
 * while the socket may still read it.
 */
export class FrameSlab {
  private slab = new ArrayBuffer(SLAB_BYTES);
  private offset = 0;

  take(length: number): Uint8Array {
    if (length > SLAB_BYTES) return new Uint8Array(length);
    if (this.offset + length > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.offset = 0;
    }
    const view = new Uint8Array(this.slab, this.offset, length);
    // 8-byte alignment keeps every frame's start word-aligned for the cipher.
    this.offset += (length + 7) & ~7;
    return view;
  }
}
