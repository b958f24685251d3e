import { type SackBlock, seqAdd, seqDiff } from '../wire.js';

const EMPTY = new Uint8Array(0);

/** What became of one received segment. */
export const InsertResult = {
  /** It extended the in-order data. */
  IN_ORDER: 'in-order',
  /** It was stored out of order (or filled part of a gap). */
  OUT_OF_ORDER: 'out-of-order',
  /** Everything in it was already received. */
  DUPLICATE: 'duplicate',
  /** It is inside the window but the buffer has no room: dropped, to be retransmitted. */
  FULL: 'full',
} as const;
export type InsertResult = (typeof InsertResult)[keyof typeof InsertResult];

interface Piece {
  seq: number;
  data: Uint8Array;
  /** When it arrived, as a running count of stored pieces: a block's recency is its newest piece's. */
  stamp: number;
}

/** How often a block's current extent is reported before others take its place first. */
const REPORTS_WANTED = 3;

/**
 * A run of contiguous out-of-order pieces: what one SACK block reports. Kept up to date as pieces
 * arrive and drain, so that building an ACK costs the number of holes, not of pieces (under loss an
 * ACK follows nearly every arrival, and rebuilding the blocks from ~1,000 pieces each time was 40 %
 * of a receiving core at 5 % loss).
 */
interface Block {
  left: number;
  right: number;
  /** Stamp of its newest piece. */
  touched: number;
  /** Times its current extent was reported (reset when it grows). */
  count: number;
}

/** SACK block order: least reported first (up to REPORTS_WANTED), then the most recently grown. */
function before(x: Block, y: Block): boolean {
  const cx = Math.min(x.count, REPORTS_WANTED);
  const cy = Math.min(y.count, REPORTS_WANTED);
  return cx !== cy ? cx < cy : x.touched > y.touched;
}

/**
 * The receive side of a stream: in-order bytes waiting for the application, and out-of-order
 * pieces waiting for a gap to fill. Memory is bounded: everything held (read queue plus
 * out-of-order pieces) stays within `capacity` plus one segment of slack, and out-of-order pieces
 * are at most `maxPieces`. The slack is what lets the window never be advertised as 0, which a
 * reference peer would read as "no limit" (spec §6.5): we advertise at least one segment and
 * accept one segment beyond a full buffer.
 */
export class ReassemblyBuffer {
  /** Next byte expected (the cumulative ACK). */
  nextSeq: number;
  private readonly queue: Uint8Array[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private pieces: Piece[] = [];
  private pieceBytes = 0;
  private lastInsertedSeq: number | undefined;
  /** The out-of-order pieces as blocks, in sequence order. */
  private blocks: Block[] = [];
  private stamp = 0;
  /** Blocks the last `sackBlocks` call had no room for and that were never reported as they are. */
  unreportedBlocks = 0;
  readonly capacity: number;
  private readonly maxPieces: number;

  constructor(initialSeq: number, capacity: number, maxPieces: number) {
    this.nextSeq = initialSeq >>> 0;
    this.capacity = capacity;
    this.maxPieces = maxPieces;
  }

  /** Bytes held: readable plus out of order. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.pieceBytes;
  }
  get readableBytes(): number {
    return this.queuedBytes;
  }
  get hasOutOfOrder(): boolean {
    return this.pieces.length > 0;
  }
  /** Free space in bytes (never negative). */
  get freeBytes(): number {
    return Math.max(0, this.capacity - this.bufferedBytes);
  }

  /**
   * Offers a segment. `slack` is how far past `capacity` the buffer may go for this segment
   * (normally one segment, so that a window of 1 advertised over a full buffer is honoured).
   */
  insert(seq: number, data: Uint8Array, slack: number): InsertResult {
    let start = seqDiff(seq, this.nextSeq);
    let bytes = data;
    if (start + bytes.length <= 0) return InsertResult.DUPLICATE;
    if (start < 0) {
      bytes = bytes.subarray(-start);
      start = 0;
    }
    const limit = this.capacity + slack - this.queuedBytes;
    if (start + bytes.length > limit) return InsertResult.FULL;
    this.lastInsertedSeq = seqAdd(this.nextSeq, start);
    if (start === 0) {
      this.append(bytes);
      this.drain();
      return InsertResult.IN_ORDER;
    }
    return this.store(start, bytes) ? InsertResult.OUT_OF_ORDER : InsertResult.DUPLICATE;
  }

  /** Removes the next readable chunk, at most `max` bytes. */
  read(max: number = Number.POSITIVE_INFINITY): Uint8Array | undefined {
    const chunk = this.queue[this.queueHead];
    if (chunk === undefined) return undefined;
    if (chunk.length > max) {
      this.queue[this.queueHead] = chunk.subarray(max);
      this.queuedBytes -= max;
      return chunk.subarray(0, max);
    }
    this.queue[this.queueHead] = EMPTY;
    this.queueHead++;
    this.queuedBytes -= chunk.length;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 256) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return chunk;
  }

  /** Consumes one sequence number past the data (a FIN). */
  advance(n: number): void {
    this.nextSeq = seqAdd(this.nextSeq, n);
  }

  /**
   * Up to `max` SACK blocks: the block holding the most recent arrival first (RFC 2018 §4), then
   * the blocks whose current extent was reported least often, the most recently grown first among
   * equals. RFC 2018 repeats the previous ACK's blocks; that reports a block created in the middle
   * of a batch of arrivals (one ACK per batch) never, and its whole range is retransmitted for
   * nothing: at 5 % loss each way across the lab, about 9 % of all packets were. Counting reports
   * gives every block a few chances to survive lost ACKs, whatever the arrival pattern, and a
   * block that grows is reported afresh.
   */
  sackBlocks(max: number = 4): SackBlock[] {
    const blocks = this.blocks;
    const first = this.lastInsertedSeq === undefined ? undefined : this.blockAt(this.lastInsertedSeq);
    // The best `max` of the rest, by selection: blocks are few (one per hole) but an ACK is built
    // per arrival under loss, so no sort and no garbage beyond the answer.
    const chosen: Block[] = first === undefined ? [] : [first];
    const start = chosen.length;
    for (const block of blocks) {
      if (block === first) continue;
      if (chosen.length < max) {
        let at = chosen.length;
        chosen.push(block);
        while (at > start && before(block, chosen[at - 1]!)) {
          chosen[at] = chosen[at - 1]!;
          at--;
        }
        chosen[at] = block;
      } else if (max > start && before(block, chosen[max - 1]!)) {
        let at = max - 1;
        while (at > start && before(block, chosen[at - 1]!)) {
          chosen[at] = chosen[at - 1]!;
          at--;
        }
        chosen[at] = block;
      }
    }
    if (chosen.length > max) chosen.length = max;
    const out: SackBlock[] = [];
    for (const block of chosen) {
      block.count++;
      out.push({ left: block.left, right: block.right });
    }
    let unreported = 0;
    for (const block of blocks) if (block.count === 0) unreported++;
    this.unreportedBlocks = unreported;
    return out;
  }

  /** The block holding sequence number `seq`, if any (binary search). */
  private blockAt(seq: number): Block | undefined {
    const blocks = this.blocks;
    const offset = seqDiff(seq, this.nextSeq);
    let low = 0;
    let high = blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqDiff(blocks[mid]!.right, this.nextSeq) <= offset) low = mid + 1;
      else high = mid;
    }
    const block = blocks[low];
    return block !== undefined && seqDiff(block.left, this.nextSeq) <= offset ? block : undefined;
  }

  /** A piece was stored: extend, create or join blocks around it. */
  private addToBlocks(seq: number, length: number, stamp: number): void {
    const blocks = this.blocks;
    const base = this.nextSeq;
    const left = seqDiff(seq, base);
    const right = left + length;
    // The first block that ends at or after the piece's left edge.
    let low = 0;
    let high = blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (seqDiff(blocks[mid]!.right, base) < left) low = mid + 1;
      else high = mid;
    }
    const previous = blocks[low];
    const joinsPrevious = previous !== undefined && seqDiff(previous.right, base) === left;
    const nextIndex = joinsPrevious ? low + 1 : low;
    const next = blocks[nextIndex];
    const joinsNext = next !== undefined && seqDiff(next.left, base) === right;
    if (joinsPrevious && joinsNext) {
      previous.right = next.right;
      previous.touched = Math.max(stamp, next.touched);
      previous.count = 0;
      blocks.splice(nextIndex, 1);
    } else if (joinsPrevious) {
      previous.right = seqAdd(seq, length);
      previous.touched = stamp;
      previous.count = 0;
    } else if (joinsNext) {
      next.left = seq;
      next.touched = stamp;
      next.count = 0;
    } else {
      const block: Block = { left: seq, right: seqAdd(seq, length), touched: stamp, count: 0 };
      if (nextIndex === blocks.length) blocks.push(block);
      else blocks.splice(nextIndex, 0, block);
    }
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.nextSeq = seqAdd(this.nextSeq, bytes.length);
  }

  /** Moves out-of-order pieces that became contiguous into the read queue. */
  private drain(): void {
    const pieces = this.pieces;
    let taken = 0;
    while (taken < pieces.length) {
      const piece = pieces[taken]!;
      const start = seqDiff(piece.seq, this.nextSeq);
      if (start > 0) break;
      taken++;
      this.pieceBytes -= piece.data.length;
      if (start + piece.data.length > 0) this.append(piece.data.subarray(-start));
    }
    if (taken === 0) return;
    // One splice for the run (shift per piece made filling a hole cost pieces² moves).
    if (taken === pieces.length) this.pieces = [];
    else pieces.splice(0, taken);
    // Blocks now wholly below the cumulative ACK went with their pieces.
    let gone = 0;
    while (gone < this.blocks.length && seqDiff(this.blocks[gone]!.right, this.nextSeq) <= 0) gone++;
    if (gone > 0) this.blocks.splice(0, gone);
  }

  /** Stores the parts of [start, start+len) not already held; false when nothing was new. */
  private store(start: number, bytes: Uint8Array): boolean {
    // The common case under loss: the segment lies past every piece (data keeps arriving above the
    // holes). Skip the scan, which would make each arrival cost the number of pieces held.
    const tail = this.pieces[this.pieces.length - 1];
    if (tail === undefined || seqDiff(tail.seq, this.nextSeq) + tail.data.length <= start) {
      return this.insertPiece(this.pieces.length, start, bytes);
    }
    let added = false;
    let cursor = start;
    const end = start + bytes.length;
    let index = this.firstPieceEndingAfter(start);
    while (index < this.pieces.length && cursor < end) {
      const piece = this.pieces[index]!;
      const pStart = seqDiff(piece.seq, this.nextSeq);
      const pEnd = pStart + piece.data.length;
      if (pEnd <= cursor) {
        index++;
        continue;
      }
      if (pStart > cursor) {
        const gapEnd = Math.min(pStart, end);
        if (!this.insertPiece(index, cursor, bytes.subarray(cursor - start, gapEnd - start))) return added;
        added = true;
        index++;
      }
      cursor = Math.max(cursor, pEnd);
      index++;
    }
    if (cursor < end) {
      if (!this.insertPiece(this.pieces.length, cursor, bytes.subarray(cursor - start))) return added;
      added = true;
    }
    return added;
  }

  private insertPiece(index: number, offset: number, data: Uint8Array): boolean {
    if (this.pieces.length >= this.maxPieces) return false;
    // A subarray would pin the whole received datagram; a copy keeps memory at what is stored.
    const piece = { seq: seqAdd(this.nextSeq, offset), data: data.slice(), stamp: ++this.stamp };
    if (index === this.pieces.length) this.pieces.push(piece);
    else this.pieces.splice(index, 0, piece);
    this.pieceBytes += data.length;
    this.addToBlocks(piece.seq, data.length, piece.stamp);
    return true;
  }

  /** Index of the first piece that ends after `offset` (bytes past nextSeq); binary search. */
  private firstPieceEndingAfter(offset: number): number {
    const pieces = this.pieces;
    let low = 0;
    let high = pieces.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const piece = pieces[mid]!;
      if (seqDiff(piece.seq, this.nextSeq) + piece.data.length <= offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
