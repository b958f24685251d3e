import type { PilotError } from '@pilot/wire';
import type { CongestionController } from '../congestion/congestion-controller.js';
import { Pacer } from '../congestion/pacer.js';
import {
  ACK_DECIMATION_AFTER,
  ACK_DECIMATION_SEGMENTS,
  DELAYED_ACK_SEGMENTS,
  NAGLE_TIMEOUT,
  PERSIST_INITIAL,
  PERSIST_MAX,
  SYN_INITIAL_RTO,
  SYN_MAX_RETRIES,
  SYN_MAX_RTO,
} from '../constants.js';
import { TransportErrorCode, transportError } from '../errors.js';
import { InsertResult, ReassemblyBuffer } from '../receive/reassembly-buffer.js';
import { RttEstimator } from '../recovery/rtt-estimator.js';
import { SentPacketTracker } from '../recovery/sent-packet-tracker.js';
import { type SentSegment, segmentLength } from '../recovery/sent-segment.js';
import { SendBuffer } from '../send/send-buffer.js';
import {
  type Address,
  decodeSack,
  encodeSack,
  type Packet,
  PacketFlag,
  PROTOCOL_VERSION,
  Protocol,
  type SackBlock,
  seqAdd,
  seqAfter,
  seqBefore,
  seqDiff,
} from '../wire.js';
import { ConnectionState } from './connection-state.js';
import type { TransportCounters } from './counters.js';
import type { TransportEvent } from './events.js';
import type { ResolvedOptions } from './options.js';

/** What a connection needs from the endpoint that owns it. */
export interface ConnectionHost {
  readonly options: ResolvedOptions;
  readonly counters: TransportCounters;
  emit(event: TransportEvent): void;
  /** The connection may have something to send. */
  wake(connection: Connection): void;
  /** A packet to send at once, outside the connection (a RST after the connection is gone). */
  sendControl(packet: Packet): void;
  /** An inbound connection finished its handshake; false refuses it (accept queue full). */
  established(connection: Connection): boolean;
  /** The connection reached CLOSED and can be forgotten. */
  closed(connection: Connection): void;
  /** Largest segment payload for a peer now (path MTU discovery raises it above `options.mss`). */
  pathMss(peer: Address): number;
  /** A retransmission timeout: path MTU discovery reads it as a possible black hole. */
  retransmissionTimeout(connection: Connection): void;
  /** The bytes `connection`'s receive buffer holds changed by `delta` (the per-peer budget's tally). */
  receiveHeld?(connection: Connection, delta: number): void;
  /** Whether `peer`'s connections may hold `bytes` more (false: the out-of-order segment is dropped). */
  receiveRoom?(peer: Address, bytes: number): boolean;
  /** The first RTO for a new connection to `peer` from its remembered RTT (PathRttCache), if any. */
  initialRto(peer: Address, now: number): number | undefined;
  /** A first SYN retransmission sooner than `initialRto` allows, from the remembered RTT, if any. */
  firstSynTimeout?(peer: Address, now: number): number | undefined;
  /** The handshake measured the RTT to the connection's peer. */
  rttMeasured(connection: Connection, now: number): void;
}

export interface ConnectionIdentity {
  readonly peer: Address;
  readonly localAddress: Address;
  readonly localPort: number;
  readonly remotePort: number;
}

const NONE = Number.POSITIVE_INFINITY;
const EMPTY = new Uint8Array(0);
const SACK_LOOKALIKE = 5 + 8 * 4;
const TLP_MIN = 10;
const HALF_OPEN_RETRIES = 5;

/**
 * One reliable stream (sans-IO). Packets go in through `onPacket(packet, now)`, packets come out of
 * `pollTransmit(now)`, and `nextTimeout()` / `onTimeout(now)` carry the timers; the application side
 * is `write`, `read`, `close` and `abort`. Sequence numbers are byte offsets compared as serial
 * numbers; the SYN and the FIN each take one.
 */
export class Connection {
  readonly peer: Address;
  readonly localAddress: Address;
  readonly localPort: number;
  readonly remotePort: number;
  /** True for connections this side dialled. */
  readonly initiator: boolean;
  /** Application data attached by a driver (for example its stream object). */
  userData: unknown;

  private stateValue: ConnectionState;
  private readonly host: ConnectionHost;
  /** Receive-buffer bytes last reported to the host (receiveHeld). */
  private heldReported = 0;
  private readonly options: ResolvedOptions;
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  private rcv: ReassemblyBuffer | undefined;
  /** Receive buffer in segments: the endpoint's, or a listener's smaller one. */
  private receiveSegments: number;
  private readonly sendBuffer = new SendBuffer();
  private readonly tracker = new SentPacketTracker();
  readonly rtt: RttEstimator;
  /** The first SYN (or SYN-ACK) timeout: the peer's remembered RTO, else the blind 1 s. */
  private readonly synRto: number;
  private readonly cc: CongestionController;
  private readonly pacer: Pacer;

  private peerWindow = 1;
  private peerMaxSegment = 0;
  /** Largest payload of a segment we send: the endpoint's MSS, or more where the path was probed. */
  private mss: number;
  private lastAdvertised = 0;
  private dupAcks = 0;

  private synPending = false;
  private synSentAt = 0;
  private synRetries = 0;
  /** The first SYN timer is the path's quick one (an extra try before the usual schedule). */
  private synQuick = false;
  /** A SYN or SYN-ACK went out again: the handshake gives no RTT sample (Karn). */
  private synResent = false;
  private synDeadline = NONE;

  private ackPending = false;
  private ackDeadline = NONE;
  private segmentsSinceAck = 0;
  /** In-order data segments received, counted up to ACK_DECIMATION_AFTER. */
  private segmentsInOrder = 0;

  private closeRequested = false;
  private finSeq: number | undefined;
  private finAcked = false;
  private peerFinSeq: number | undefined;
  private peerFinDone = false;

  private rtoDeadline = NONE;
  private rtoRetries = 0;
  private tlpDeadline = NONE;
  private tlpPending = false;
  private tlpUsed = false;
  private lossDeadline = NONE;
  private persistDeadline = NONE;
  private persistBackoff = 0;
  private persistPending = false;
  private paceDeadline = NONE;
  private nagleSince = NONE;

  private lastReceived: number;
  private lastActivity: number;
  private keepaliveProbes = 0;
  private keepaliveDeadline: number;
  private keepalivePending = false;
  private timeWaitDeadline = NONE;
  private writableWanted = false;
  private closeError: PilotError | undefined;

  constructor(host: ConnectionHost, identity: ConnectionIdentity, initiator: boolean, now: number) {
    this.host = host;
    this.options = host.options;
    this.receiveSegments = host.options.receiveWindowSegments;
    this.peer = identity.peer;
    this.localAddress = identity.localAddress;
    this.localPort = identity.localPort;
    this.remotePort = identity.remotePort;
    this.initiator = initiator;
    this.iss = this.options.random() >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.mss = host.pathMss(identity.peer);
    this.cc = this.options.congestionController(this.options.mss);
    this.pacer = new Pacer(this.mss, this.options.pacingBurst, this.options.pacingCatchUpMs);
    this.lastReceived = now;
    this.lastActivity = now;
    this.keepaliveDeadline = now + this.options.keepaliveInterval;
    const knownRto = host.initialRto(identity.peer, now);
    this.rtt = new RttEstimator(knownRto === undefined ? {} : { initialRto: knownRto });
    this.synRto = knownRto ?? SYN_INITIAL_RTO;
    if (initiator) {
      this.stateValue = ConnectionState.SYN_SENT;
      this.synPending = true;
      const quick = host.firstSynTimeout?.(identity.peer, now);
      this.synQuick = quick !== undefined && quick < this.synRto;
      this.synDeadline = now + (quick !== undefined && this.synQuick ? quick : this.synRto);
    } else {
      this.stateValue = ConnectionState.SYN_RECEIVED;
      this.synDeadline = now + this.synRto;
    }
  }

  /** Called by the endpoint for a SYN that created this (responder) connection. */
  /**
   * A smaller receive buffer than the endpoint's default, for a listener whose peers are not trusted
   * (it bounds what one connection can make us hold, out-of-order segments included). Before acceptSyn.
   */
  limitReceiveWindow(segments: number): void {
    if (this.rcv === undefined) this.receiveSegments = Math.max(2, Math.min(this.receiveSegments, segments));
  }

  /**
   * The path's datagram size changed. Smaller: segments already cut that might be retransmitted are
   * cut again, or they would be lost forever on a path that no longer carries them.
   */
  setMss(mss: number): void {
    if (mss === this.mss) return;
    if (mss < this.mss) this.tracker.resegment(mss);
    this.mss = mss;
    this.pacer.setMss(mss);
    this.host.wake(this);
  }

  /** Largest segment payload this connection sends now. */
  get segmentSize(): number {
    return this.mss;
  }

  acceptSyn(syn: Packet): void {
    this.rcv = this.newReceiveBuffer(seqAdd(syn.seq, 1));
    this.peerWindow = syn.window;
    this.synPending = true;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Bytes that `write` would accept now. */
  get writableBytes(): number {
    if (!this.canWrite()) return 0;
    return Math.max(
      0,
      this.options.sendBufferBytes - this.sendBuffer.length - seqDiff(this.sndNxt, this.sndUna),
    );
  }

  /** In-order bytes waiting for `read`. */
  get readableBytes(): number {
    return this.rcv?.readableBytes ?? 0;
  }

  /** The peer finished sending and every byte was read. */
  get readEnded(): boolean {
    return this.peerFinDone && this.readableBytes === 0;
  }

  /** Bytes written but not yet acknowledged (queued or in flight). */
  get pendingBytes(): number {
    return this.sendBuffer.length + this.tracker.count;
  }

  get error(): PilotError | undefined {
    return this.closeError;
  }

  /** Round-trip, window and loss figures, for tests and diagnostics. */
  stats(): { srtt: number | undefined; rto: number; cwnd: number; inFlight: number; peerWindow: number } {
    return {
      srtt: this.rtt.srtt,
      rto: this.rtt.rto(),
      cwnd: this.cc.window,
      inFlight: this.tracker.inFlight,
      peerWindow: this.peerWindow,
    };
  }

  /**
   * Queues bytes for sending; returns how many were accepted (less than given when the buffer is
   * full). `handedOver`: the caller never modifies `bytes` again, so they are queued without a copy.
   */
  write(bytes: Uint8Array, handedOver = false): number {
    if (!this.canWrite())
      throw transportError(TransportErrorCode.NOT_WRITABLE, 'connection is not open for writing');
    const room = this.writableBytes;
    const accepted = Math.min(room, bytes.length);
    if (accepted < bytes.length) this.writableWanted = true;
    if (accepted === 0) return 0;
    this.sendBuffer.push(accepted === bytes.length ? bytes : bytes.subarray(0, accepted), handedOver);
    this.host.wake(this);
    return accepted;
  }

  /** Takes the next chunk of in-order bytes (at most `max`). */
  read(max?: number): Uint8Array | undefined {
    const rcv = this.rcv;
    if (rcv === undefined) return undefined;
    const chunk = rcv.read(max);
    if (chunk !== undefined) {
      this.syncHeld();
      this.maybeWindowUpdate();
    }
    return chunk;
  }

  /** Reports what the receive buffer holds now to the host's per-peer tally (nothing once closed). */
  private syncHeld(): void {
    const report = this.host.receiveHeld;
    if (report === undefined) return;
    const now = this.stateValue === ConnectionState.CLOSED ? 0 : (this.rcv?.bufferedBytes ?? 0);
    const delta = now - this.heldReported;
    if (delta === 0) return;
    this.heldReported = now;
    report(this, delta);
  }

  /** Graceful close: the FIN follows the queued data. */
  close(): void {
    switch (this.stateValue) {
      case ConnectionState.SYN_SENT:
      case ConnectionState.SYN_RECEIVED:
        this.terminate(undefined, true);
        return;
      case ConnectionState.ESTABLISHED:
      case ConnectionState.CLOSE_WAIT:
        if (this.closeRequested) return;
        this.closeRequested = true;
        this.host.wake(this);
        return;
      default:
        return;
    }
  }

  /** Abortive close: RST now, queued data discarded. */
  abort(error?: PilotError): void {
    if (this.stateValue === ConnectionState.CLOSED) return;
    this.terminate(error ?? transportError(TransportErrorCode.ABORTED, 'connection aborted'), true);
  }

  /** Forgets the connection without telling the peer (a TIME_WAIT that a new SYN replaces). */
  discard(): void {
    this.terminate(undefined, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  onPacket(packet: Packet, now: number): void {
    if (this.stateValue === ConnectionState.CLOSED) return;
    const flags = packet.flags;
    if ((flags & PacketFlag.RST) !== 0) {
      const code =
        this.stateValue === ConnectionState.SYN_SENT
          ? TransportErrorCode.CONNECTION_REFUSED
          : TransportErrorCode.CONNECTION_RESET;
      const quiet = this.stateValue === ConnectionState.TIME_WAIT || (this.finAcked && this.peerFinDone);
      this.terminate(quiet ? undefined : transportError(code, 'connection reset by peer'), false);
      return;
    }
    this.lastReceived = now;
    this.keepaliveProbes = 0;
    this.keepaliveDeadline = now + this.options.keepaliveInterval;
    this.rtoRetries = 0;

    if (this.stateValue === ConnectionState.SYN_SENT) {
      this.onSynSentPacket(packet, now);
      return;
    }
    if (this.stateValue === ConnectionState.SYN_RECEIVED) {
      if ((flags & PacketFlag.SYN) !== 0 && (flags & PacketFlag.ACK) === 0) {
        this.synPending = true;
        this.synResent = true;
        return;
      }
      if ((flags & PacketFlag.ACK) === 0 || packet.ack !== this.sndNxt) return;
      if (this.synRetries === 0 && !this.synResent) {
        this.rtt.update(now - this.synSentAt);
        this.host.rttMeasured(this, now);
      }
      this.stateValue = ConnectionState.ESTABLISHED;
      this.sndUna = this.sndNxt;
      this.synDeadline = NONE;
      this.lastActivity = now;
      if (!this.host.established(this)) return;
    }
    if ((flags & PacketFlag.SYN) !== 0) {
      // A retransmitted SYN (our SYN-ACK was lost) or SYN-ACK (our final ACK was lost).
      if ((flags & PacketFlag.ACK) !== 0 && this.initiator) this.ackPending = true;
      else if (!this.initiator) this.synPending = true;
      return;
    }

    let payload = packet.payload;
    let blocks: SackBlock[] | undefined;
    if ((flags & PacketFlag.ACK) !== 0 && payload.length > 0) {
      // The reference reads every ACK payload as SACK first (spec §6.4); so do we, to agree with it.
      blocks = decodeSack(payload);
      if (blocks !== undefined) payload = EMPTY;
    }
    const fin = (flags & PacketFlag.FIN) !== 0;
    const carriesData = payload.length > 0 || fin;
    if (carriesData && this.rcv !== undefined && this.isImpossibleSeq(packet.seq)) {
      this.host.counters.badSequence++;
      return;
    }
    if (
      (flags & PacketFlag.ACK) !== 0 &&
      !this.onAck(packet, blocks ?? [], payload.length === 0 && !fin, now)
    )
      return;
    if (
      !carriesData &&
      blocks === undefined &&
      this.rcv !== undefined &&
      seqBefore(packet.seq, this.rcv.nextSeq)
    ) {
      // A keepalive probe (an empty segment below our ACK point): answer so the peer knows we live.
      this.ackPending = true;
    }
    if (carriesData) this.onData(packet.seq, payload, fin, now);
    this.host.wake(this);
  }

  private onSynSentPacket(packet: Packet, now: number): void {
    const synAck = PacketFlag.SYN | PacketFlag.ACK;
    if ((packet.flags & synAck) !== synAck || packet.ack !== this.sndNxt) return;
    this.rcv = this.newReceiveBuffer(seqAdd(packet.seq, 1));
    this.peerWindow = packet.window;
    this.sndUna = this.sndNxt;
    if (this.synRetries === 0 && !this.synResent) {
      this.rtt.update(now - this.synSentAt);
      this.host.rttMeasured(this, now);
    }
    this.stateValue = ConnectionState.ESTABLISHED;
    this.synDeadline = NONE;
    this.ackPending = true;
    this.lastActivity = now;
    this.host.emit({ type: 'connected', connection: this });
    this.host.wake(this);
  }

  private isImpossibleSeq(seq: number): boolean {
    const rcv = this.rcv!;
    // Far beyond anything a window could allow (a reference peer multiplies our window by 4096),
    // or so far behind that it cannot be a retransmission.
    const limit = rcv.capacity * 4 + 65_536;
    const offset = seqDiff(seq, rcv.nextSeq);
    return offset > limit || offset < -limit;
  }

  /** Processes the ACK part of a packet; false when the whole packet must be dropped. */
  private onAck(packet: Packet, blocks: readonly SackBlock[], pure: boolean, now: number): boolean {
    const ack = packet.ack;
    const counters = this.host.counters;
    if (seqAfter(ack, this.sndNxt)) {
      counters.ackBeyondSent++;
      return false;
    }
    const valid: SackBlock[] = [];
    for (const block of blocks) {
      if (
        !seqAfter(block.right, block.left) ||
        seqAfter(block.right, this.sndNxt) ||
        seqDiff(block.right, block.left) > 0x3fff_ffff
      ) {
        counters.badSack++;
        return false;
      }
      if (seqAfter(block.right, ack)) valid.push(block);
    }
    if (seqBefore(ack, this.sndUna)) return true;

    const oldWindow = this.peerWindow;
    this.peerWindow = packet.window;
    const isNew = seqAfter(ack, this.sndUna);
    const result = this.tracker.onAck(ack, valid, now, this.rtt.minRtt);
    if (isNew) {
      this.sndUna = ack;
      this.dupAcks = 0;
      this.rtt.resetBackoff();
      this.tlpUsed = false;
    } else if (pure && result.newlyAcked === 0 && packet.window <= oldWindow && !this.tracker.isEmpty) {
      // Not "window unchanged" as RFC 5681 has it: our receiver shrinks the window as out-of-order data fills it.
      this.dupAcks++;
      // A path seen to reorder, with SACK: RACK's time rule decides (duplicates are reordering's too).
      if (this.dupAcks === 3 && !(this.tracker.reorderingSeen && this.tracker.sacked > 0)) {
        const segment = this.tracker.markFirstUnsackedLost();
        if (segment !== undefined) {
          counters.fastRetransmits++;
          counters.lossesDetected++;
          this.cc.onCongestionEvent(segment.sentAt, now);
        }
      }
    }
    if (result.rttSample !== undefined) this.rtt.update(result.rttSample);
    if (result.newlyAcked > 0) this.cc.onAck(result.newlyAcked, result.newestSentAt, now);
    if (result.rateSample !== undefined) this.cc.onDeliveryRateSample?.(result.rateSample, now);
    this.detectLosses(now);
    if (result.finAcked) this.finAcked = true;

    if (isNew || result.newlyAcked > 0) this.armRto(now);
    if (this.tracker.isEmpty) {
      this.rtoDeadline = NONE;
      this.tlpDeadline = NONE;
    } else if (isNew) {
      this.armTlp(now);
    }
    if (this.peerWindow > 0) {
      this.persistBackoff = 0;
      this.persistDeadline = NONE;
    }
    // A window that reopens while we back off: retransmit now instead of after a long RTO.
    if (
      this.peerWindow > oldWindow &&
      this.rtt.backoff > 0 &&
      !this.tracker.isEmpty &&
      !this.tracker.hasLost
    ) {
      this.rtt.resetBackoff();
      this.tracker.markFirstUnsackedLost();
      this.armRto(now);
    }
    if (result.cumulativeBytes > 0 && this.writableWanted && this.writableBytes > 0) {
      this.writableWanted = false;
      this.host.emit({ type: 'writable', connection: this });
    }
    if (this.finAcked && this.stateValue === ConnectionState.CLOSE_WAIT) {
      this.terminate(undefined, false);
      return false;
    }
    return true;
  }

  private decimating(): boolean {
    return this.options.ackDecimation && this.segmentsInOrder >= ACK_DECIMATION_AFTER;
  }

  private ackEvery(): number {
    return this.decimating() ? ACK_DECIMATION_SEGMENTS : DELAYED_ACK_SEGMENTS;
  }

  /** How long an ACK may wait for more segments: a quarter of the min RTT once decimating. */
  private ackDelay(): number {
    const timeout = this.options.delayedAckTimeout;
    const minRtt = this.rtt.minRtt;
    if (!this.decimating() || minRtt === undefined) return timeout;
    return Math.min(timeout, Math.max(1, minRtt / 4));
  }

  private detectLosses(now: number): void {
    const srtt = this.rtt.srtt ?? this.rtt.baseRto();
    const reordering = Math.max((this.rtt.minRtt ?? srtt) / 4, 1);
    const { lost, nextCheck } = this.tracker.detectLosses(now, srtt + reordering);
    for (const segment of lost) {
      this.host.counters.lossesDetected++;
      this.cc.onCongestionEvent(segment.sentAt, now);
    }
    this.lossDeadline = Number.isNaN(nextCheck) ? NONE : nextCheck;
  }

  private onData(seq: number, payload: Uint8Array, fin: boolean, now: number): void {
    const rcv = this.rcv;
    if (rcv === undefined) return;
    const receiving =
      this.stateValue === ConnectionState.ESTABLISHED || this.stateValue === ConnectionState.FIN_WAIT;
    if (payload.length > 0) {
      if (!receiving || this.peerFinDone) {
        this.ackPending = true;
        return;
      }
      if (payload.length > this.peerMaxSegment) this.peerMaxSegment = payload.length;
      // The per-peer memory budget takes out-of-order data only: the segment that fills the gap
      // always goes in, so a peer over its budget slows down but no connection is stuck.
      if (seq !== rcv.nextSeq && this.host.receiveRoom?.(this.peer, payload.length) === false) {
        this.host.counters.peerReceiveBudgetFull++;
        this.ackPending = true;
        return;
      }
      const hadGaps = rcv.hasOutOfOrder;
      const before = rcv.readableBytes;
      const result = rcv.insert(seq, payload, Math.max(this.options.mss, payload.length));
      switch (result) {
        case InsertResult.IN_ORDER:
          this.lastActivity = now;
          this.segmentsSinceAck++;
          if (this.segmentsInOrder < ACK_DECIMATION_AFTER) this.segmentsInOrder++;
          if (hadGaps || rcv.hasOutOfOrder || this.segmentsSinceAck >= this.ackEvery())
            this.ackPending = true;
          else if (this.ackDeadline === NONE) this.ackDeadline = now + this.ackDelay();
          break;
        case InsertResult.FULL:
          this.host.counters.receiveBufferFull++;
          this.ackPending = true;
          break;
        default:
          this.ackPending = true;
      }
      this.syncHeld();
      if (rcv.readableBytes > before) this.host.emit({ type: 'readable', connection: this });
    }
    if (fin) {
      if (this.peerFinDone) {
        // A retransmitted FIN: a plain ACK, never FIN|ACK, so FINs cannot bounce (reference §14).
        this.ackPending = true;
        return;
      }
      this.peerFinSeq = seqAdd(seq, payload.length);
    }
    if (this.peerFinSeq !== undefined && !this.peerFinDone && rcv.nextSeq === this.peerFinSeq) {
      this.peerFinDone = true;
      rcv.advance(1);
      this.ackPending = true;
      this.host.emit({ type: 'readable', connection: this });
      if (this.stateValue === ConnectionState.ESTABLISHED) this.stateValue = ConnectionState.CLOSE_WAIT;
      else if (this.stateValue === ConnectionState.FIN_WAIT) this.enterTimeWait(now);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  /** The next packet this connection wants to send now, if any. */
  pollTransmit(now: number): Packet | undefined {
    switch (this.stateValue) {
      case ConnectionState.CLOSED:
        return undefined;
      case ConnectionState.SYN_SENT:
        if (!this.synPending) return undefined;
        this.synPending = false;
        this.synSentAt = now;
        return this.packet(PacketFlag.SYN, this.iss, 0, EMPTY);
      case ConnectionState.SYN_RECEIVED:
        if (!this.synPending) return undefined;
        this.synPending = false;
        this.synSentAt = now;
        return this.packet(PacketFlag.SYN | PacketFlag.ACK, this.iss, this.rcv!.nextSeq, EMPTY);
      default:
        return this.pollEstablished(now);
    }
  }

  private pollEstablished(now: number): Packet | undefined {
    if (this.synPending && !this.initiator) {
      this.synPending = false;
      return this.packet(PacketFlag.SYN | PacketFlag.ACK, this.iss, this.rcv!.nextSeq, EMPTY);
    }
    const data = this.pollData(now);
    if (data !== undefined) return data;
    if (this.ackPending || this.ackDeadline <= now) return this.pureAck();
    if (this.keepalivePending) {
      this.keepalivePending = false;
      // An old sequence number makes a receiver answer with an ACK (our receivers do).
      return this.packet(PacketFlag.ACK, seqAdd(this.sndNxt, -1), this.rcv!.nextSeq, EMPTY);
    }
    return undefined;
  }

  private pollData(now: number): Packet | undefined {
    const mss = this.mss;
    const lost = this.tracker.firstLost();
    if (lost !== undefined) {
      const length = segmentLength(lost);
      if (this.tracker.inFlight === 0 || this.tracker.inFlight + length <= this.cc.window) {
        if (!this.paced(length, now)) return undefined;
        this.tracker.onRetransmit(lost, now);
        this.host.counters.retransmits++;
        this.armRtoIfIdle(now);
        // A retransmission sent last is a tail too: if it is lost, nothing sent after it can show it.
        this.armTlp(now);
        return this.segmentPacket(lost, now);
      }
    }
    if (this.tlpPending) {
      this.tlpPending = false;
      // One probe per tail, until the cumulative ACK moves (RFC 8985's TLPRxtOut): re-armed by
      // its own send, a probe of new data into a black hole pushed the RTO back forever.
      this.tlpUsed = true;
      // The last segment SACKed: what holds the tail up is a hole below it (typically a lost
      // retransmission, which RACK cannot see when nothing was sent after it): probe the hole.
      const last = this.tracker.last();
      const probe = last === undefined || !last.sacked ? last : this.tracker.firstUnsacked();
      if (probe !== undefined && !probe.sacked && !probe.lost && this.sendBuffer.length === 0) {
        this.tracker.onRetransmit(probe, now);
        this.host.counters.tailLossProbes++;
        this.host.counters.retransmits++;
        // RFC 8985 §7.3: after a probe the RTO is re-armed from now; the old one fired just as the
        // probe's answer was on its way (an RTO collapses the window and resends everything).
        this.armRto(now);
        return this.segmentPacket(probe, now);
      }
      if (this.sendBuffer.length > 0) {
        this.host.counters.tailLossProbes++;
        const packet = this.sendNew(Math.min(mss, this.sendBuffer.length), now);
        this.armRto(now);
        return packet;
      }
    }
    if (this.persistPending) {
      this.persistPending = false;
      if (this.sendBuffer.length > 0 && this.tracker.isEmpty) return this.sendNew(1, now);
    }
    if (
      this.sendBuffer.length === 0 &&
      !this.closeRequested &&
      this.tracker.inFlight < this.cc.window &&
      !this.tracker.hasLost
    ) {
      // The application leaves the window unfilled: rate samples measure it, not the path. Not
      // while segments wait to be retransmitted (as Linux's tcp_rate_check_app_limited): under
      // steady loss the send buffer is often all unacknowledged data behind holes, and marking
      // that "application-limited" kept BBR in STARTUP, its window 2.89 × an estimate that only
      // ever rose.
      this.tracker.markAppLimited();
    }
    if (this.sendBuffer.length > 0 && this.canSendFlow()) {
      // The peer's window counts its free slots, and what it holds above a hole (SACKed) already
      // fills some: counting those bytes again as outstanding stalled a lossy transfer whenever
      // half the window sat above holes (at 5 % loss, ~150 ms stalls every second or two).
      const outstanding = seqDiff(this.sndNxt, this.sndUna) - this.tracker.sacked;
      const peerRoom = this.peerWindow * mss - outstanding;
      let length = Math.min(mss, this.sendBuffer.length, peerRoom);
      if (length <= 0) return undefined;
      // Avoid the silly window: a short segment only when it carries everything or the pipe is empty.
      if (length < mss && length < this.sendBuffer.length && !this.tracker.isEmpty) return undefined;
      if (
        this.options.nagle &&
        length < mss &&
        !this.tracker.isEmpty &&
        !this.closeRequested &&
        now < this.nagleSince + NAGLE_TIMEOUT
      ) {
        return undefined;
      }
      if (decodeSack(this.sendBuffer.peek(SACK_LOOKALIKE)) !== undefined) length = 1;
      if (!this.paced(length, now)) return undefined;
      return this.sendNew(length, now);
    }
    if (this.closeRequested && this.finSeq === undefined && this.sendBuffer.length === 0) {
      const segment = this.tracker.onSent(this.sndNxt, EMPTY, true, now);
      this.finSeq = this.sndNxt;
      this.sndNxt = seqAdd(this.sndNxt, 1);
      if (this.stateValue === ConnectionState.ESTABLISHED) this.stateValue = ConnectionState.FIN_WAIT;
      this.armRtoIfIdle(now);
      return this.segmentPacket(segment, now);
    }
    return undefined;
  }

  /** Congestion and peer-window check for new data; arms the zero-window probe when blocked by a 0 window. */
  private canSendFlow(): boolean {
    if (this.stateValue !== ConnectionState.ESTABLISHED && this.stateValue !== ConnectionState.CLOSE_WAIT)
      return false;
    if (this.peerWindow === 0) {
      // Only a reference peer advertises 0 (its buffer is full); ours never do. Probe it.
      if (this.tracker.isEmpty && this.persistDeadline === NONE) {
        this.persistDeadline =
          this.lastReceived + Math.min(PERSIST_INITIAL * 2 ** this.persistBackoff, PERSIST_MAX);
      }
      return false;
    }
    return this.tracker.inFlight < this.cc.window;
  }

  private paced(bytes: number, now: number): boolean {
    const srtt = this.rtt.srtt;
    this.pacer.setRate(srtt === undefined ? Number.POSITIVE_INFINITY : this.cc.pacingRate(srtt));
    const delay = this.pacer.delay(bytes, now);
    if (delay <= 0) {
      this.pacer.onSend(bytes, now);
      this.paceDeadline = NONE;
      return true;
    }
    this.paceDeadline = now + delay;
    return false;
  }

  private sendNew(length: number, now: number): Packet {
    const data = this.sendBuffer.take(length);
    // `data` is a view of the send buffer's private copy: kept as is until acknowledged.
    const segment = this.tracker.onSent(this.sndNxt, data, false, now);
    this.sndNxt = seqAdd(this.sndNxt, data.length);
    this.lastActivity = now;
    this.nagleSince = now;
    this.armRtoIfIdle(now);
    this.armTlp(now);
    return this.segmentPacket(segment, now);
  }

  private segmentPacket(segment: SentSegment, _now: number): Packet {
    const flags = segment.fin ? PacketFlag.FIN | PacketFlag.ACK : PacketFlag.ACK;
    const rcv = this.rcv!;
    const packet = this.packet(flags, segment.seq, rcv.nextSeq, segment.data);
    // Data carries the ACK; a separate ACK is still needed when the receiver must report SACK.
    if (!rcv.hasOutOfOrder) {
      this.ackPending = false;
      this.ackDeadline = NONE;
      this.segmentsSinceAck = 0;
    }
    return packet;
  }

  private pureAck(): Packet {
    const rcv = this.rcv!;
    this.ackPending = false;
    this.ackDeadline = NONE;
    this.segmentsSinceAck = 0;
    const blocks = rcv.sackBlocks(4);
    // More new ranges than one ACK holds (a batch of arrivals with several holes): another ACK
    // follows at once, or a sender that sees three SACKed segments above an unreported range
    // declares that whole range lost.
    if (rcv.unreportedBlocks > 0) this.ackPending = true;
    return this.packet(
      PacketFlag.ACK,
      this.sndNxt,
      rcv.nextSeq,
      blocks.length > 0 ? encodeSack(blocks) : EMPTY,
    );
  }

  private packet(flags: number, seq: number, ack: number, payload: Uint8Array): Packet {
    const window = this.advertisedWindow();
    this.lastAdvertised = window;
    return {
      version: PROTOCOL_VERSION,
      flags,
      protocol: Protocol.STREAM,
      src: this.localAddress,
      dst: this.peer,
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq,
      ack,
      window,
      payload,
    };
  }

  /**
   * Free receive slots in segments of the larger of our MSS and the peer's largest segment, since
   * a reference peer multiplies the window by its own MSS. Never 0: the reference reads 0 as "no
   * limit" (spec §6.5); a full buffer advertises 1 and drops what does not fit, which is then
   * retransmitted, and a window update follows when the application reads.
   */
  private advertisedWindow(): number {
    const rcv = this.rcv;
    if (rcv === undefined) return Math.min(this.receiveSegments, 0xffff);
    const unit = Math.max(this.options.mss, this.peerMaxSegment);
    return Math.min(0xffff, Math.max(1, Math.floor(rcv.freeBytes / unit)));
  }

  private maybeWindowUpdate(): void {
    if (this.stateValue !== ConnectionState.ESTABLISHED && this.stateValue !== ConnectionState.FIN_WAIT)
      return;
    if (this.peerFinDone) return;
    const window = this.advertisedWindow();
    const quarter = Math.max(2, this.receiveSegments >> 2);
    if ((this.lastAdvertised <= 1 && window > 1) || window - this.lastAdvertised >= quarter) {
      this.ackPending = true;
      this.host.wake(this);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  /** The earliest time `onTimeout` has work, or Infinity. */
  nextTimeout(): number {
    switch (this.stateValue) {
      case ConnectionState.CLOSED:
        return NONE;
      case ConnectionState.SYN_SENT:
      case ConnectionState.SYN_RECEIVED:
        return this.synDeadline;
      case ConnectionState.TIME_WAIT:
        return Math.min(this.timeWaitDeadline, this.rtoDeadline, this.ackDeadline);
      default: {
        let next = Math.min(
          this.rtoDeadline,
          this.tlpDeadline,
          this.lossDeadline,
          this.ackDeadline,
          this.persistDeadline,
          this.keepaliveDeadline,
        );
        if (this.paceDeadline !== NONE) next = Math.min(next, this.paceDeadline);
        if (this.options.nagle && this.sendBuffer.length > 0)
          next = Math.min(next, this.nagleSince + NAGLE_TIMEOUT);
        if (this.options.idleTimeout > 0) next = Math.min(next, this.lastActivity + this.options.idleTimeout);
        return next;
      }
    }
  }

  onTimeout(now: number): void {
    switch (this.stateValue) {
      case ConnectionState.CLOSED:
        return;
      case ConnectionState.SYN_SENT:
      case ConnectionState.SYN_RECEIVED:
        if (this.synDeadline <= now) this.onSynTimeout(now);
        return;
      default:
        break;
    }
    if (this.timeWaitDeadline <= now) {
      this.terminate(undefined, false);
      return;
    }
    if (this.ackDeadline <= now) {
      this.ackDeadline = NONE;
      this.ackPending = true;
    }
    if (this.paceDeadline <= now) this.paceDeadline = NONE;
    if (this.lossDeadline <= now) this.detectLosses(now);
    if (this.rtoDeadline <= now) {
      if (!this.onRto(now)) return;
    } else if (this.tlpDeadline <= now) {
      this.tlpDeadline = NONE;
      if (!this.tracker.isEmpty && !this.tracker.hasLost) this.tlpPending = true;
    }
    if (this.persistDeadline <= now) {
      this.persistDeadline = NONE;
      this.persistPending = true;
      this.persistBackoff++;
    }
    if (this.stateValue === ConnectionState.TIME_WAIT) return;
    if (this.keepaliveDeadline <= now && !this.tracker.isEmpty) {
      // Data in flight has its own timer (RTO); a keepalive adds nothing.
      this.keepaliveDeadline = now + this.options.keepaliveInterval;
    } else if (this.keepaliveDeadline <= now) {
      if (this.keepaliveProbes >= this.options.keepaliveProbes) {
        this.terminate(transportError(TransportErrorCode.PEER_DEAD, 'keepalive probes unanswered'), true);
        return;
      }
      this.keepaliveProbes++;
      this.keepalivePending = true;
      this.keepaliveDeadline = now + this.options.keepaliveInterval / 4;
    }
    if (this.options.idleTimeout > 0 && this.lastActivity + this.options.idleTimeout <= now) {
      this.lastActivity = now;
      if (this.stateValue === ConnectionState.FIN_WAIT && this.finAcked) {
        this.terminate(undefined, false);
        return;
      }
      this.closeError = transportError(TransportErrorCode.IDLE_TIMEOUT, 'connection idle');
      this.close();
    }
  }

  /**
   * The link reached the peer again after losing it: a SYN still unanswered goes now instead of at
   * its backed-off retry (the retry it replaces counts as usual). False when there is none.
   */
  resendSynNow(now: number): boolean {
    if (!this.initiator || this.stateValue !== ConnectionState.SYN_SENT || this.synDeadline <= now)
      return false;
    this.synDeadline = now;
    return true;
  }

  private onSynTimeout(now: number): void {
    if (this.synQuick) {
      // The quick first try (two remembered RTTs): then the usual schedule, none of it spent.
      this.synQuick = false;
      this.synResent = true;
      this.synPending = true;
      this.synDeadline = now + this.synRto;
      return;
    }
    this.synRetries++;
    const limit = this.initiator ? SYN_MAX_RETRIES : HALF_OPEN_RETRIES;
    if (this.synRetries > limit) {
      if (this.initiator)
        this.terminate(transportError(TransportErrorCode.CONNECT_TIMEOUT, 'no answer to SYN'), false);
      else {
        this.host.counters.halfOpenReaped++;
        this.terminate(undefined, false);
      }
      return;
    }
    this.synPending = true;
    this.synDeadline = now + Math.min(this.synRto * 2 ** this.synRetries, SYN_MAX_RTO);
  }

  /** Retransmission timeout; false when the connection died. */
  private onRto(now: number): boolean {
    if (this.tracker.isEmpty) {
      this.rtoDeadline = NONE;
      return true;
    }
    this.rtoRetries++;
    if (this.rtoRetries > this.options.maxRtoRetries) {
      this.terminate(transportError(TransportErrorCode.PEER_DEAD, 'retransmissions unanswered'), true);
      return false;
    }
    this.host.counters.rtoTimeouts++;
    this.cc.onRetransmissionTimeout(now);
    this.rtt.onTimeout();
    this.tracker.markAllLost();
    this.tlpDeadline = NONE;
    this.lossDeadline = NONE;
    this.rtoDeadline = now + this.rtt.rto();
    if (this.mss > this.options.mss) this.host.retransmissionTimeout(this);
    return true;
  }

  private armRto(now: number): void {
    this.rtoDeadline = this.tracker.isEmpty ? NONE : now + this.rtt.rto();
  }

  private armRtoIfIdle(now: number): void {
    if (this.rtoDeadline === NONE) this.rtoDeadline = now + this.rtt.rto();
  }

  /**
   * Tail loss probe (RFC 8985 §7): two SRTTs, plus the delayed-ACK allowance for a lone segment.
   * Unlike RFC 8985 (and Linux) also in recovery: a lost retransmission at the tail otherwise
   * waits for the RTO (≥ 200 ms plus back-off) — in 50 parallel 64 KiB calls at 1 % loss, the
   * slowest call of most rounds. With a hole (data SACKed) the receiver acknowledges a repair at
   * once, so the probe waits a round trip and its variance, not two.
   */
  private armTlp(now: number): void {
    const srtt = this.rtt.srtt;
    if (srtt === undefined || this.tlpUsed || this.tracker.hasLost || this.tracker.isEmpty) {
      this.tlpDeadline = NONE;
      return;
    }
    // A round trip and its variance (QUIC's PTO, RFC 9002 §6.2.1) once the variance has settled;
    // never more than RFC 8985's two SRTTs (a young connection's RTTVAR is still SRTT/2).
    const settled = Math.min(2 * srtt, srtt + Math.max(4 * this.rtt.rttVariance, 2));
    let pto: number;
    if (this.tracker.count === 1) {
      // A lone segment (a request): its ACK may wait for the peer's delayed-ACK timer. 2·SRTT on
      // top of the timer left a lost request among 50 parallel calls 140 ms at 50 ms RTT.
      pto = settled + this.options.delayedAckTimeout;
    } else if (this.tracker.sacked > 0) {
      pto = Math.max(1.25 * srtt, settled);
    } else {
      pto = 2 * srtt;
    }
    pto = Math.max(pto, TLP_MIN);
    // From the newest transmission in flight, not from now: an ACK for earlier data (delayed up to
    // 40 ms) used to push the probe of a lost last segment back by as much again.
    const sentAt = this.tracker.newestInFlightSentAt();
    const from = Number.isNaN(sentAt) ? now : sentAt;
    this.tlpDeadline = Math.min(Math.max(from + pto, now), this.rtoDeadline);
  }

  private enterTimeWait(now: number): void {
    this.stateValue = ConnectionState.TIME_WAIT;
    this.timeWaitDeadline = now + this.options.timeWait;
    this.keepaliveDeadline = NONE;
  }

  private canWrite(): boolean {
    if (this.closeRequested) return false;
    const state = this.stateValue;
    return (
      state === ConnectionState.SYN_SENT ||
      state === ConnectionState.SYN_RECEIVED ||
      state === ConnectionState.ESTABLISHED ||
      state === ConnectionState.CLOSE_WAIT
    );
  }

  private newReceiveBuffer(initialSeq: number): ReassemblyBuffer {
    const segments = this.receiveSegments;
    return new ReassemblyBuffer(initialSeq, segments * this.options.mss, segments);
  }

  /** Moves to CLOSED, optionally sending RST, and tells the endpoint. */
  private terminate(error: PilotError | undefined, sendRst: boolean): void {
    if (this.stateValue === ConnectionState.CLOSED) return;
    if (sendRst && this.stateValue !== ConnectionState.SYN_SENT) {
      this.host.sendControl(
        this.packet(PacketFlag.RST | PacketFlag.ACK, this.sndNxt, this.rcv?.nextSeq ?? 0, EMPTY),
      );
    } else if (sendRst) {
      this.host.sendControl(this.packet(PacketFlag.RST, this.sndNxt, 0, EMPTY));
    }
    this.stateValue = ConnectionState.CLOSED;
    if (error !== undefined) this.closeError = error;
    this.rtoDeadline = NONE;
    this.host.emit({ type: 'closed', connection: this, error: this.closeError });
    this.syncHeld();
    this.host.closed(this);
  }
}
