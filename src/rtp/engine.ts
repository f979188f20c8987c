/**
 * The RTP stream engine: the hot loop. One call per RTP packet, all state in one typed buffer of
 * fixed-size per-stream records (stream-store.ts), nothing allocated per packet.
 *
 * The engine finds the packet's stream (or starts one) and hands the packet to each metric family, each
 * in its own module of functions over the records:
 *  - sequence.ts: Wireshark's sequence errors and "expected", RFC 3550 A.1 validation, A.3 expected/lost,
 *    duplicates and out-of-order from a 128-packet reorder window;
 *  - loss-model.ts: the Gilbert / RFC 3611 loss pattern, fed by sequence.ts;
 *  - timing.ts: Wireshark's delta, jitter and skew, RFC 3550 A.8 jitter, clock drift (their per-packet
 *    update written out in nextPacket, see there);
 *  - clock-inference.ts: the clock of a payload type nothing explains;
 *  - jitter-buffer.ts: the emulated jitter buffers.
 * Wireshark's figures (tshark 4.0 `-z rtp,streams` / RTP Stream Analysis) are reproduced exactly so that
 * numbers users compare with tshark agree to its printed precision. Every family keeps its figures
 * cumulative and per report interval side by side; a report is a read of the records.
 */
import { DecodedPacket } from '../decode/packet.js';
import type { StreamCounters, StreamSnapshot } from './snapshot.js';
import { CandidateCache } from './candidates.js';
import { rtpHeaderLength, rtpPaddingLength } from './rtp-header.js';
import { Kind, staticClockRate, staticPayloadKind } from './payload-types.js';
import { EndReason } from './reasons.js';
import { lossMetrics } from './loss-model.js';
import { fillSequenceCounters, Gap, resolvedLoss, packetSequence, rfcExpected, sequenceStart, setSequenceBase, wiresharkExpected } from './sequence.js';
import { a8JitterMs, adoptInferredClock, driftPpm, epochMsPlus, fillTimingCounters, foldTimingInterval, packetMs, timingStart, transitChangeMs } from './timing.js';
import { formatIp, formatMac } from './format.js';
import { hashStreamKey, RecordIndex, StreamIndex } from './stream-index.js';
import { L, StreamStore } from './stream-store.js';
import { TupleSuccession } from './succession.js';
import { ClockInference, ClockSource, INFER_CLOCKS } from './clock-inference.js';
import { JitterBuffers, warmJitterBuffers, type JitterBufferOptions } from './jitter-buffer.js';

export interface RtpHeuristicOptions {
  /** Consecutive in-sequence packets of one (5-tuple, SSRC) before an unsignalled stream counts. */
  minConsecutive: number;
  /** Only accept unsignalled RTP on even destination AND source ports (RFC 3550 11 convention). */
  requireEvenPort: boolean;
  /** Inclusive payload type ranges accepted without signalling. */
  allowedPayloadTypes: Array<[number, number]>;
  /** Unsignalled packets to or from ports below this are ignored (well-known service ports). */
  minPort: number;
  /** Size of the candidate cache (rounded up to a power of two; at least max streams / 2). */
  candidateSlots: number;
}

export interface RtpEngineOptions {
  maxStreams: number;
  /** A stream with no packet for this long (capture time) is ended by expire(). */
  silenceTimeoutMs: number;
  heuristic: Partial<RtpHeuristicOptions>;
  /**
   * Clock for payload types neither the hooks nor RFC 3551 know (dynamic PT without SDP); 0 (default):
   * inferred from the stream's timestamps (clock-inference.ts), unknown until then.
   */
  defaultClockRate: number;
  /**
   * Wireshark converts timestamps to ms with INTEGER clock/1000 (44100 Hz -> 44, a 0.2 % error that
   * shows up as jitter and skew drift on L16 44.1 kHz). true reproduces that, for comparisons with
   * tshark; false (default) uses the exact clock, which is what the report should say.
   */
  wiresharkCompatibleClock: boolean;
  /** A new SSRC on a 5-tuple ends the previous stream on that 5-tuple (reason ssrcChange). */
  endOnSsrcChange: boolean;
  /**
   * Consecutive in-sequence packets of one SSRC before a signalled flow (an SDP binding covers it) counts,
   * from its first packet. 2 (RFC 3550 A.1 MIN_SEQUENTIAL): junk or sprayed SSRCs on a bound port never
   * start streams, and a lone stray packet is not reported as a stream of one packet.
   */
  signalledMinConsecutive: number;
  /** Jitter-buffer emulation (jitter-buffer.ts) per stream; null = off (no discards, no buffer MOS). */
  jitterBuffer: Partial<JitterBufferOptions> | null;
}

export interface RtpEngineHooks {
  /** Clock rate of `pt` on this stream (from SDP), 0 when unknown. Called on stream start and PT change. */
  resolveClock?: (slot: number, pt: number) => number;
  /** PayloadKind of `pt` (e.g. telephone-event from SDP), -1 when unknown. Same calling rule. */
  resolvePayloadKind?: (slot: number, pt: number) => number;
  /**
   * Whether the SDP binding that made the packet being classified signalled (onRtp with `signalled`)
   * maps `pt`. Called only for payload types no RTP profile assigns (35..71), which count as RTP then.
   */
  signalledPayload?: (pt: number) => boolean;
  onStreamStart?: (slot: number) => void;
  /** Called exactly once per stream, before its slot is freed: snapshot it here. */
  onStreamEnd?: (slot: number, reason: number) => void;
}

/** Engine-wide counters (monotonic). */
export class RtpEngineCounters {
  packets = 0;
  /** Handed to onRtp but not RTP v2 (or RTCP by its second byte). */
  notRtp = 0;
  /** RTP v2 but lengths inconsistent (CSRC count, extension, padding beyond the packet). */
  malformed = 0;
  /**
   * Packets the capture's snap length cut inside their RTP header (here the CSRC list, the extension, or
   * with padding the last byte that counts it; the pipeline counts those cut inside the fixed header): not
   * measured.
   */
  snapCut = 0;
  /** Well-formed but not (yet) counted: unsignalled packets below the heuristic's bar. */
  heuristicPending = 0;
  heuristicRejected = 0;
  /** Signalled packets held until their SSRC shows signalledMinConsecutive packets in sequence. */
  signalledPending = 0;
  streamsStarted = 0;
  streamsEnded = 0;
  /** Streams ended to make room (table full), all kinds; and of those, the ones on their first packet. */
  evicted = 0;
  evictedUnconfirmed = 0;
  /** Packets of new one-packet streams held in the candidate cache because the table was full of confirmed streams. */
  heldBack = 0;
  ssrcChanges = 0;
  /** Streams of an unexplained payload type whose clock could not be inferred because the inference pool entry was busy. */
  clockInferenceBusy = 0;
}

const KEY_WORDS = 10; // src0..3, dst0..3, ports, ssrc

/** A stream still on its first packet this long after it (capture time) is the first a full table gives up. */
const PROBATION_MS = 1000;
/** Slots the eviction's CLOCK hand visits at most per new stream, and the blocks it notes times by. */
const CLOCK_STEPS = 1024;
const HAND_BLOCK_BITS = 6;
const HAND_BLOCK = 1 << HAND_BLOCK_BITS;

const DEFAULT_HEURISTIC: RtpHeuristicOptions = {
  minConsecutive: 2, // RFC 3550 A.1 MIN_SEQUENTIAL
  requireEvenPort: false,
  allowedPayloadTypes: [[0, 34], [96, 127]],
  minPort: 1024,
  candidateSlots: 4096,
};

/** Bytes of engine state by part (stateBreakdown()). */
export interface StateBreakdown {
  /** Per-stream record, hot part (key + per-packet state) and cold part. */
  recordHot: number;
  recordCold: number;
  /** The one scratch record, spread over the slots. */
  scratch: number;
  streamIndex: number;
  tupleIndex: number;
  /** Active list + positions. */
  lists: number;
  /** Heuristic candidate cache (fixed size, not per stream) and other fixed scratch arrays. */
  fixed: number;
  /** Jitter-buffer emulation records and adaptive histories (0 when off). */
  jitterBuffer: number;
  total: number;
  perStream: number;
  slots: number;
}

export class RtpEngine {
  readonly counters = new RtpEngineCounters();
  readonly maxStreams: number;
  hooks: RtpEngineHooks;
  private readonly opts: RtpEngineOptions;
  private readonly heur: RtpHeuristicOptions;
  private readonly ptAllowed = new Uint8Array(128);

  private readonly store: StreamStore;
  /** The stream whose loss model the scratch record holds resolved (by snapshot), at its packet count then. */
  private resolvedSlot = -1;
  private resolvedPackets = 0;
  private readonly f: Float64Array;
  private readonly w: Int32Array;
  private readonly h16: Uint16Array;
  private readonly u8: Uint8Array;
  private readonly streams: StreamIndex;
  /** 5-tuple -> the latest stream on it (SSRC changes). */
  private readonly tuples: RecordIndex;
  /** Whether a new SSRC on a 5-tuple replaced the earlier one or runs beside it (BUNDLE, RTX). */
  private readonly succession: TupleSuccession;
  /** Key of the packet that starts a stream (filled on a lookup miss only). */
  private readonly newKey = new Int32Array(KEY_WORDS);
  /** Arrival time of the packet handed to nextPacket: a double argument would be boxed in every call. */
  private readonly arrivalMs = new Float64Array(1);
  /** Slots: active ones in [0, activeCount), free ones after (next allocated: slotList[activeCount]). */
  private readonly slotList: Int32Array;
  /** Position of each slot in slotList. */
  private readonly slotPos: Int32Array;
  private activeCount = 0;
  /** Eviction: ring of slots whose stream started on one packet, oldest first (re-checked when taken). */
  private readonly unconfirmed: Int32Array;
  private unconfirmedHead = 0;
  private unconfirmedLength = 0;
  /**
   * Eviction: CLOCK hand over the slots, and per block of HAND_BLOCK slots the capture time (ms, as
   * D_LAST_MS) the hand entered it on this pass and on the pass before: a slot whose last packet is
   * older than the latter got nothing since the hand last passed it (a block's start is at or before
   * each of its slots' visits, so the test errs on the side of keeping). 0.25 B per slot, no per-packet work.
   */
  private hand = 0;
  private readonly handEnteredMs: Float64Array;
  private readonly handEnteredBeforeMs: Float64Array;

  // Candidate cache for unsignalled streams (and new ones waiting for room): two-way associative by key hash.
  private readonly cands: CandidateCache;
  /** Clock inference for streams of a payload type nothing explains (fixed pool, direct-mapped by slot). */
  private readonly infer: ClockInference;
  /** Jitter-buffer emulation, or null when off. */
  readonly jb: JitterBuffers | null;
  /** Wireshark's previous packet time handed to the inference (a double argument would be boxed). */
  private readonly wsPrevMs = new Float64Array(1);

  private hostTimestamps = false;
  /** True only inside onReservedRtp: its packet's payload type of 72..95 is RTP. */
  private reservedVouched = false;
  /**
   * Subtracted from every packet time: the sum of the host clock steps seen (clockStepAt), so that time
   * inside the engine (and everything it reports) stays continuous across an NTP step.
   */
  private clockOffsetMs = 0;
  /** opts.wiresharkCompatibleClock, read per packet. */
  private readonly wsClock: boolean;
  /** Whole second of the first packet: times are float64 ms relative to it to keep sub-us precision. */
  private epochSec = -1;
  private nowRelMs = 0;
  /** Big-endian view of the payload buffer onRtp last read (replaced when the buffer changes). */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewBuf: Uint8Array = new Uint8Array(0);

  constructor(options: Partial<RtpEngineOptions> = {}, hooks: RtpEngineHooks = {}) {
    this.opts = {
      maxStreams: options.maxStreams ?? 10000,
      silenceTimeoutMs: options.silenceTimeoutMs ?? 30000,
      heuristic: options.heuristic ?? {},
      defaultClockRate: options.defaultClockRate ?? 0,
      wiresharkCompatibleClock: options.wiresharkCompatibleClock ?? false,
      endOnSsrcChange: options.endOnSsrcChange ?? false,
      signalledMinConsecutive: options.signalledMinConsecutive ?? 2,
      jitterBuffer: options.jitterBuffer === undefined ? {} : options.jitterBuffer,
    };
    this.heur = { ...DEFAULT_HEURISTIC, ...this.opts.heuristic };
    this.wsClock = this.opts.wiresharkCompatibleClock;
    for (const [lo, hi] of this.heur.allowedPayloadTypes) {
      for (let pt = Math.max(0, lo); pt <= Math.min(127, hi); pt++) if (pt < 72 || pt > 95) this.ptAllowed[pt] = 1;
    }
    this.hooks = hooks;
    const n = (this.maxStreams = this.opts.maxStreams);
    const store = (this.store = new StreamStore(n));
    this.f = store.f;
    this.w = store.w;
    this.h16 = store.h;
    this.u8 = store.b;
    this.streams = new StreamIndex(store.w, n);
    this.tuples = new RecordIndex(store.w, n, 9);
    this.succession = new TupleSuccession();
    this.slotList = new Int32Array(n);
    this.slotPos = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.slotList[i] = i; // slot 0 is allocated first
      this.slotPos[i] = i;
    }
    this.unconfirmed = new Int32Array(Math.max(16, n >> 2));
    const blocks = Math.ceil(n / HAND_BLOCK);
    this.handEnteredMs = new Float64Array(blocks).fill(-Infinity);
    this.handEnteredBeforeMs = new Float64Array(blocks).fill(-Infinity);
    this.cands = new CandidateCache(Math.max(this.heur.candidateSlots, n >> 1), KEY_WORDS);
    this.infer = new ClockInference(Math.min(n, 1024));
    this.jb = this.opts.jitterBuffer === null ? null : new JitterBuffers(n, this.opts.jitterBuffer);
    if (this.opts.jitterBuffer !== null) warmJitterBuffers(this.opts.jitterBuffer);
  }

  /** Bytes of typed-array state (for the memory-per-stream figure). */
  get stateBytes(): number {
    return this.stateBreakdown().total;
  }

  /** State bytes by part, from the arrays actually allocated. */
  stateBreakdown(): StateBreakdown {
    const n = this.maxStreams;
    const recordHot = n * L.HOT_BYTES;
    const recordCold = n * L.COLD_BYTES;
    const scratch = this.store.byteSize - recordHot - recordCold;
    const streamIndex = this.streams.byteSize;
    const tupleIndex = this.tuples.byteSize;
    const lists = this.slotList.byteLength + this.slotPos.byteLength + this.unconfirmed.byteLength + this.handEnteredMs.byteLength + this.handEnteredBeforeMs.byteLength;
    const fixed = this.cands.byteSize + this.infer.byteSize + this.succession.byteSize + this.newKey.byteLength + this.ptAllowed.byteLength + this.wsPrevMs.byteLength;
    const jitterBuffer = this.jb === null ? 0 : this.jb.byteSize;
    const total = recordHot + recordCold + scratch + streamIndex + tupleIndex + lists + fixed + jitterBuffer;
    return { recordHot, recordCold, scratch, streamIndex, tupleIndex, lists, fixed, jitterBuffer, total, perStream: (total - fixed) / n, slots: n };
  }

  get activeStreams(): number {
    return this.activeCount;
  }

  /** Capture time of the latest packet, ms since the Unix epoch (0 before the first packet). */
  get nowMs(): number {
    return this.epochSec < 0 ? 0 : this.epochSec * 1000 + this.nowRelMs;
  }

  /** Capture-time offset after host clock steps (the caller decides them, see clockStepAt). */
  setClockOffsetMs(ms: number): void {
    this.clockOffsetMs = ms;
  }

  /**
   * Evidence of a host clock step at this packet, whose capture time jumped from the previous packet's:
   * when it belongs to an active stream with a known clock, the arrival advance minus the media advance
   * since that stream's previous packet, ms (about the jump when the clock stepped, about 0 when the
   * network or the capture was merely silent: RTP timestamps follow the sender's sampling, not the host
   * clock); NaN when the packet says nothing (not a stream's, no clock). Rare: called on a jump only.
   */
  clockStepAt(pkt: DecodedPacket): number {
    if (pkt.payloadLength < 12) return NaN;
    const slot = this.streamOf(pkt, this.streamKey(pkt));
    if (slot < 0) return NaN;
    const t = (pkt.tsSec - this.epochSec) * 1000 + pkt.tsNsec / 1e6 - this.clockOffsetMs;
    return transitChangeMs(this.store, slot, t, this.view.getInt32(pkt.payloadOffset + 4));
  }

  /**
   * True when the RTP packet, whose streamKey() is `key`, belongs to a stream being measured (not a
   * candidate). Rare path: no counting.
   */
  hasStream(pkt: DecodedPacket, key: number): boolean {
    return this.streamOf(pkt, key) >= 0;
  }

  /** The stream key hash of an RTP packet of 12 bytes or more (addresses, ports, SSRC: what the stream index is keyed by). */
  streamKey(pkt: DecodedPacket): number {
    const b = pkt.payloadBuf;
    const o = pkt.payloadOffset;
    const ssrc = (b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11];
    return hashStreamKey(pkt.src0 | 0, pkt.src1 | 0, pkt.src2 | 0, pkt.src3 | 0, pkt.dst0 | 0, pkt.dst1 | 0, pkt.dst2 | 0, pkt.dst3 | 0, (pkt.srcPort << 16) | pkt.dstPort, ssrc);
  }

  /** Slot of the active stream the RTP packet (stream key hash `key`) belongs to, or -1 (leaves `view` on the packet's buffer). */
  private streamOf(pkt: DecodedPacket, key: number): number {
    const b = pkt.payloadBuf;
    const off = pkt.payloadOffset;
    if (this.epochSec < 0 || pkt.payloadLength < 12 || b[off] >> 6 !== 2) return -1;
    if (b !== this.viewBuf) this.setView(b);
    const k9 = this.view.getInt32(off + 8);
    const k8 = (pkt.srcPort << 16) | pkt.dstPort;
    return this.streams.find(key, pkt.src0 | 0, pkt.src1 | 0, pkt.src2 | 0, pkt.src3 | 0, pkt.dst0 | 0, pkt.dst1 | 0, pkt.dst2 | 0, pkt.dst3 | 0, k8, k9);
  }

  /** Slot of the active stream of this 5-tuple (address words as DecodedPacket's) and SSRC, or -1. */
  findStream(s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, srcPort: number, dstPort: number, ssrc: number): number {
    if (srcPort < 0 || srcPort > 0xffff || dstPort < 0 || dstPort > 0xffff) return -1;
    const k8 = (srcPort << 16) | dstPort;
    const h = hashStreamKey(s0 | 0, s1 | 0, s2 | 0, s3 | 0, d0 | 0, d1 | 0, d2 | 0, d3 | 0, k8, ssrc | 0);
    return this.streams.find(h, s0 | 0, s1 | 0, s2 | 0, s3 | 0, d0 | 0, d1 | 0, d2 | 0, d3 | 0, k8, ssrc | 0);
  }

  /** The stream's clock rate (Hz), 0 while unknown: clockStepAt judges only streams with one. */
  clockRate(slot: number): number {
    return this.w[slot * L.HOT_W + L.W_CLOCK];
  }

  setHostTimestamps(on: boolean): void {
    this.hostTimestamps = on;
  }

  setCallRef(slot: number, ref: number): void {
    this.w[this.store.coldW(slot) + L.CW_CALL_REF] = ref;
  }

  callRef(slot: number): number {
    return this.w[this.store.coldW(slot) + L.CW_CALL_REF];
  }

  isActive(slot: number): boolean {
    return slot >= 0 && slot < this.maxStreams && this.slotPos[slot] < this.activeCount;
  }

  /** Capture time of the stream's latest packet, ms since the Unix epoch (media-fault checks, once per tick). */
  lastSeenMs(slot: number): number {
    return this.epochSec * 1000 + this.f[slot * L.HOT_D + L.D_LAST_MS];
  }

  /**
   * True when a newer stream (another SSRC) took this stream's 5-tuple over since it started: not one
   * that runs beside it (BUNDLE, RTX), once that is known (succession.ts).
   */
  replaced(slot: number): boolean {
    const n = this.succession.follower(slot);
    if (n >= 0) this.settleSuccession(n, false);
    return (this.u8[slot * L.HOT_BYTES + L.B_FLAGS] & (L.FLAG_IN_TUPLES | L.FLAG_SHARES_TUPLE)) === 0;
  }

  /**
   * Decide, if it can now be told, whether `slot` replaced the stream it followed on its 5-tuple or runs
   * beside it, and set its SSRC changes: those the stream it followed has now, plus one for a replacement
   * (counted so from the start while undecided). `ending`: one of the two ends, an undecided succession
   * stays a replacement.
   */
  private settleSuccession(slot: number, ending: boolean): void {
    const sc = this.succession;
    const p = sc.undecided(slot);
    if (p < 0) return;
    // The stream it followed first: its own count is the base of this one's.
    this.settleSuccession(p, false);
    const shared = sc.settle(slot, this.f, ending);
    if (shared === null) return;
    this.countSsrcChange(slot, p, !shared);
    if (!shared) return;
    this.u8[p * L.HOT_BYTES + L.B_FLAGS] |= L.FLAG_SHARES_TUPLE;
    this.counters.ssrcChanges--;
  }

  /** `slot`'s SSRC changes: those of `earlier`, the stream before it on the 5-tuple, plus one if it replaced it. */
  private countSsrcChange(slot: number, earlier: number, replaced: boolean): void {
    const base = this.h16[this.store.coldH(earlier) + L.CH_SSRC_CHANGES];
    this.h16[this.store.coldH(slot) + L.CH_SSRC_CHANGES] = !replaced || base === 0xffff ? base : base + 1;
  }

  private keyWord(slot: number, i: number): number {
    return this.w[slot * L.HOT_W + i] >>> 0;
  }
  ssrc(slot: number): number {
    return this.keyWord(slot, 9);
  }
  srcPort(slot: number): number {
    return this.keyWord(slot, 8) >>> 16;
  }
  dstPort(slot: number): number {
    return this.keyWord(slot, 8) & 0xffff;
  }
  /** Word i (0..3) of the source (or destination) address, IPv4 as ::ffff:a.b.c.d. */
  srcAddrWord(slot: number, i: number): number {
    return this.keyWord(slot, i);
  }
  dstAddrWord(slot: number, i: number): number {
    return this.keyWord(slot, 4 + i);
  }
  payloadType(slot: number): number {
    return this.u8[slot * L.HOT_BYTES + L.B_PT];
  }
  /** The stream's latest packet was comfort noise (RFC 3389): its sender said it went silent. */
  lastWasComfortNoise(slot: number): boolean {
    return this.u8[slot * L.HOT_BYTES + L.B_KIND] === Kind.CN;
  }
  /**
   * Wireshark's per-packet values after the latest packet (what sharkd's analysis lists): the time of the
   * last packet its analysis took (delta = the difference of two successive values), jitter, skew in ms.
   */
  wiresharkTimeMs(slot: number): number {
    return this.f[slot * L.HOT_D + L.D_WS_PREV_MS];
  }
  wiresharkJitterMs(slot: number): number {
    return this.f[slot * L.HOT_D + L.D_WS_JITTER];
  }
  skewMs(slot: number): number {
    return this.f[slot * L.HOT_D + L.D_SKEW];
  }

  private setView(b: Uint8Array): void {
    this.viewBuf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /**
   * onRtp(pkt, true) for a packet of payload type 72..95, which onRtp refuses (RTCP multiplexed on an RTP
   * port reads so, RFC 5761), that the caller found to be RTP on an SDP's address (an SDP may map one).
   */
  onReservedRtp(pkt: DecodedPacket, frameBuf?: Uint8Array): number {
    this.reservedVouched = true;
    const slot = this.onRtp(pkt, true, frameBuf);
    this.reservedVouched = false;
    return slot;
  }

  /**
   * Account one UDP payload that classification sent here. `signalled` = an SDP binding covers it, so it
   * counts from the first packet; otherwise the heuristic must promote it first. `frameBuf` is the
   * buffer pkt.srcMacOffset points into (the batch buffer; defaults to pkt.payloadBuf).
   * Returns the stream slot, or -1 when the packet was not (yet) counted.
   */
  onRtp(pkt: DecodedPacket, signalled: boolean, frameBuf?: Uint8Array): number {
    const b = pkt.payloadBuf;
    const off = pkt.payloadOffset;
    const len = pkt.payloadLength;
    if (len < 12) {
      this.counters.notRtp++;
      return -1;
    }
    // The fixed header as three big-endian words: 3 bounds-checked loads instead of 12.
    if (b !== this.viewBuf) this.setView(b);
    const v = this.view;
    const h0 = v.getInt32(off); // V P X CC | M PT | sequence number
    const b0 = h0 >>> 24;
    const pt = (h0 >> 16) & 0x7f;
    if (b0 >> 6 !== 2 || (pt >= 72 && pt <= 95 && !this.reservedVouched)) {
      this.counters.notRtp++; // not version 2, or RTCP multiplexed on the RTP port (unless onReservedRtp)
      return -1;
    }
    let bytes: number;
    if ((b0 & 0x30) === 0 && 12 + ((b0 & 0x0f) << 2) <= len) {
      bytes = len - 12 - ((b0 & 0x0f) << 2); // no extension, no padding: the common header
    } else {
      const hdr = rtpHeaderLength(b, off, len);
      const cut = len < pkt.payloadWireLength;
      // Cut by the snap length, the header's end is not captured, or with padding the last byte that counts
      // it (the last byte captured is payload: read as the count it would give a wrong size, or a refusal).
      if (cut && (hdr < 0 || (b0 & 0x20) !== 0)) {
        this.counters.snapCut++;
        return -1;
      }
      if (hdr < 0) {
        this.counters.malformed++;
        return -1;
      }
      bytes = len - hdr - rtpPaddingLength(b, off, len);
    }
    const marker = (h0 >> 23) & 1;
    const seq = h0 & 0xffff;
    // As int32 (every use is modulo 2^32): a uint32 above 2^31 would be boxed as a heap number in each call.
    const ts = v.getInt32(off + 4);
    const k9 = v.getInt32(off + 8);

    if (this.epochSec < 0) this.epochSec = pkt.tsSec;
    const t = (pkt.tsSec - this.epochSec) * 1000 + pkt.tsNsec / 1e6 - this.clockOffsetMs;
    if (t > this.nowRelMs) this.nowRelMs = t;

    const k0 = pkt.src0 | 0, k1 = pkt.src1 | 0, k2 = pkt.src2 | 0, k3 = pkt.src3 | 0;
    const k4 = pkt.dst0 | 0, k5 = pkt.dst1 | 0, k6 = pkt.dst2 | 0, k7 = pkt.dst3 | 0;
    const k8 = (pkt.srcPort << 16) | pkt.dstPort;
    const h = hashStreamKey(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9);
    const slot = this.streams.find(h, k0, k1, k2, k3, k4, k5, k6, k7, k8, k9);
    if (slot >= 0) {
      this.counters.packets++;
      this.arrivalMs[0] = t;
      const s = slot & L.SLOT_MASK; // range for the compiler (stream-store.ts)
      this.nextPacket(s, seq, ts, pt, marker, bytes, packetSequence(this.w, this.h16, this.u8, s, this.store.coldW(s), seq));
      return slot;
    }
    const k = this.newKey;
    k[0] = k0; k[1] = k1; k[2] = k2; k[3] = k3; k[4] = k4; k[5] = k5; k[6] = k6; k[7] = k7; k[8] = k8; k[9] = k9;
    const link = pkt.ipVersion | ((pkt.vlan + 1) << 8);
    return this.unknownStream(h, signalled, seq, ts >>> 0, pt, marker, bytes, t, link, pkt.srcMacOffset, pkt.dstMacOffset, frameBuf === undefined ? b : frameBuf);
  }

  /**
   * Packet of a stream not in the index (key in newKey, hash h): start it, or hold it as a heuristic
   * candidate. link = ipVersion | (vlan + 1) << 8; mo/md: MAC offsets in frameBuf. Slot or -1.
   */
  private unknownStream(
    h: number, signalled: boolean, seq: number, ts: number, pt: number, marker: number, bytes: number, t: number,
    link: number, mo: number, md: number, frameBuf: Uint8Array,
  ): number {
    // A candidate entry holds the packets seen before the stream counted (heuristic probation, or
    // packets that came before their SDP binding was known): they are fed first, in arrival order.
    let cand: number;
    if (!signalled) {
      const k8 = this.newKey[8];
      cand = this.promote(h, pt, seq, ts, t, marker, bytes, k8 >>> 16, k8 & 0xffff);
      if (cand < 0) return -1;
    } else {
      cand = this.signalledCandidate(h, pt, seq, ts, t, marker, bytes);
      if (cand < 0) return -1;
    }
    // One packet only when a minimum consecutive count is set to 1: such a stream never pushes one out.
    const confirmed = this.cands.pendingCount(cand) >= 2;
    if (this.activeCount === this.maxStreams) {
      if (!confirmed) return this.holdBack();
      this.makeRoom();
    }
    const slot = this.startStream(h, link, mo, md, frameBuf);
    if (!confirmed) this.noteUnconfirmed(slot);
    this.replayCandidate(slot, cand);
    return slot;
  }

  /**
   * Unsignalled packet of an unknown stream: buffered in its candidate entry; the entry index once the
   * run of consecutive sequence numbers reaches minConsecutive, else -1. A payload type outside the
   * allowed list never starts a candidate but is kept (without extending the run) in an existing one:
   * it is a packet of that stream (comfort noise, an event) that Wireshark counts.
   */
  private promote(h: number, pt: number, seq: number, ts: number, t: number, marker: number, bytes: number, srcPort: number, dstPort: number): number {
    const hs = this.heur;
    if (srcPort < hs.minPort || dstPort < hs.minPort || (hs.requireEvenPort && ((srcPort | dstPort) & 1) !== 0)) {
      this.counters.heuristicRejected++;
      return -1;
    }
    const cands = this.cands;
    const ptOk = this.ptAllowed[pt] === 1;
    if (!ptOk && cands.find(h, this.newKey) < 0) {
      this.counters.heuristicRejected++;
      return -1;
    }
    const run = cands.add(h, this.newKey, ptOk, seq, ts, t, pt, marker, bytes);
    if (run >= hs.minConsecutive) return cands.lastEntry;
    if (ptOk) this.counters.heuristicPending++;
    else this.counters.heuristicRejected++;
    return -1;
  }

  /**
   * Signalled packet of an unknown stream: held in its candidate entry with the packets before it (the
   * pipeline tries the heuristic first, so the current packet may already be the entry's newest) until
   * the SSRC shows signalledMinConsecutive packets in sequence; then the entry index, else -1. A payload
   * type no RTP profile assigns (35..71) extends the run only when the binding's SDP maps it (WebRTC
   * endpoints map 35..63 when 96..127 run out): a binding admits what looks like RTP.
   */
  private signalledCandidate(h: number, pt: number, seq: number, ts: number, t: number, marker: number, bytes: number): number {
    const cands = this.cands;
    let c = cands.find(h, this.newKey);
    let run: number;
    const sp = this.hooks.signalledPayload;
    if (c >= 0 && cands.pendingCount(c) > 0 && this.isNewestPending(c, seq, ts, t)) {
      run = cands.runLength(c);
      // The heuristic, which knows no SDP, broke the run at a payload type only the SDP assigns.
      if (run === 0 && pt > 34 && pt < 96 && sp !== undefined && sp(pt)) run = cands.sequentialTail(c);
    } else {
      run = cands.add(h, this.newKey, pt <= 34 || pt >= 96 || (sp !== undefined && sp(pt)), seq, ts, t, pt, marker, bytes);
      c = cands.lastEntry;
    }
    if (run >= this.opts.signalledMinConsecutive) return c;
    this.counters.signalledPending++;
    return -1;
  }

  private isNewestPending(c: number, seq: number, ts: number, t: number): boolean {
    const cands = this.cands;
    const p = cands.pending(c, cands.pendingCount(c) - 1);
    return cands.pSeq[p] === seq && cands.pMs[p] === t && cands.pTs[p] === ts;
  }

  /** Packets held as candidates now, measured or discarded later. */
  get heldPending(): number {
    return this.cands.heldPackets();
  }

  /** Packets held as candidates that were never measured (stray SSRCs, junk, flows too short to pass). */
  get heldDiscarded(): number {
    return this.cands.discarded;
  }

  /** Feed a promoted candidate's packets (the promoting one last) as the stream's first packets. */
  private replayCandidate(slot: number, c: number): void {
    const cd = this.cands;
    const n = cd.pendingCount(c);
    let p = cd.pending(c, 0);
    this.firstPacket(slot, cd.pMs[p], cd.pSeq[p], cd.pTs[p], cd.pPt[p], cd.pMarker[p], cd.pBytes[p]);
    for (let k = 1; k < n; k++) {
      p = cd.pending(c, k);
      this.arrivalMs[0] = cd.pMs[p];
      const seq = cd.pSeq[p];
      this.nextPacket(slot, seq, cd.pTs[p] | 0, cd.pPt[p], cd.pMarker[p], cd.pBytes[p], packetSequence(this.w, this.h16, this.u8, slot, this.store.coldW(slot), seq));
    }
    this.counters.packets += n;
    cd.clear(c);
  }

  /** New stream for the key in newKey (hash h); link-layer details as unknownStream's. */
  private startStream(h: number, link: number, mo: number, md: number, frameBuf: Uint8Array): number {
    const slot = this.slotList[this.activeCount++];
    const store = this.store;
    store.clear(slot);
    const w = this.w;
    const hw = slot * L.HOT_W;
    for (let i = 0; i < KEY_WORDS; i++) w[hw + i] = this.newKey[i];
    this.streams.insert(slot, h);
    const hb = slot * L.HOT_BYTES;
    const cb = this.store.coldB(slot);
    let flags = (link & 0xff) === 6 ? L.FLAG_IPV6 : 0;
    if (this.hostTimestamps) flags |= L.FLAG_HOST_TS;
    this.h16[this.store.coldH(slot) + L.CH_VLAN_PLUS_1] = (link >> 8) & 0xffff;
    const cw = this.store.coldW(slot);
    w[cw + L.CW_CALL_REF] = -1;
    if (mo >= 0 && mo + 6 <= frameBuf.length) {
      for (let i = 0; i < 6; i++) this.u8[cb + L.CB_MACS + i] = frameBuf[mo + i];
      flags |= L.FLAG_HAS_SRC_MAC;
    }
    if (md >= 0 && md + 6 <= frameBuf.length) {
      for (let i = 0; i < 6; i++) this.u8[cb + L.CB_MACS + 6 + i] = frameBuf[md + i];
      flags |= L.FLAG_HAS_DST_MAC;
    }

    // Note SSRC changes on this 5-tuple.
    const th = hashStreamKey(w[hw], w[hw + 1], w[hw + 2], w[hw + 3], w[hw + 4], w[hw + 5], w[hw + 6], w[hw + 7], w[hw + 8], 0);
    const prev = this.tuples.findLike(th, slot);
    if (prev >= 0) {
      // A replacement of `prev` until it is known whether it runs beside it (settleSuccession).
      const sc = this.succession;
      if (sc.full) this.settleSuccession(sc.oldest(), true);
      sc.add(slot, prev);
      this.countSsrcChange(slot, prev, true);
      this.counters.ssrcChanges++;
      this.tuples.remove(prev);
      this.u8[prev * L.HOT_BYTES + L.B_FLAGS] &= ~L.FLAG_IN_TUPLES;
    }
    this.tuples.insert(slot, th);
    this.u8[hb + L.B_FLAGS] = flags | L.FLAG_IN_TUPLES;
    if (prev >= 0 && this.opts.endOnSsrcChange) this.endStream(prev, EndReason.ssrcChange);
    this.counters.streamsStarted++;
    const hk = this.hooks.onStreamStart;
    if (hk !== undefined) hk(slot);
    return slot;
  }

  /**
   * Free a slot of the full table for a confirmed newcomer (two packets or more; a one-packet one waits in
   * the candidate cache, see holdBack) in O(1) amortized, never by a scan. First choice: the oldest stream
   * still on its one packet after PROBATION_MS (a ring of such starts; entries whose stream has since got
   * a second packet are dropped). Else CLOCK over the slots (all active when full): the first stream that
   * received no packet since the hand last passed it; the others get a second chance. At most CLOCK_STEPS
   * slots per call, then the idlest of those (the first pass over a newly full table, or a run of busy
   * streams): bounded work per new stream, and each slot passed over was paid for by a packet it
   * received since the previous pass, so O(1) per packet amortized.
   */
  private makeRoom(): void {
    const w = this.w;
    const f = this.f;
    const ring = this.unconfirmed;
    while (this.unconfirmedLength > 0) {
      const s = ring[this.unconfirmedHead];
      if (w[s * L.HOT_W + L.W_PACKETS] < 2) {
        if (f[s * L.HOT_D + L.D_LAST_MS] > this.nowRelMs - PROBATION_MS) break; // the oldest is still young
        if (++this.unconfirmedHead === ring.length) this.unconfirmedHead = 0;
        this.unconfirmedLength--;
        this.counters.evictedUnconfirmed++;
        this.evict(s);
        return;
      }
      if (++this.unconfirmedHead === ring.length) this.unconfirmedHead = 0;
      this.unconfirmedLength--;
    }
    const n = this.maxStreams;
    const now = this.nowRelMs;
    let idlest = 0;
    let idlestMs = Infinity;
    for (let steps = Math.min(n, CLOCK_STEPS); steps > 0; steps--) {
      const s = this.hand;
      if (++this.hand === n) this.hand = 0;
      const b = s >> HAND_BLOCK_BITS;
      if ((s & (HAND_BLOCK - 1)) === 0) {
        this.handEnteredBeforeMs[b] = this.handEnteredMs[b];
        this.handEnteredMs[b] = now;
      }
      const last = f[s * L.HOT_D + L.D_LAST_MS];
      if (last < this.handEnteredBeforeMs[b]) {
        if (w[s * L.HOT_W + L.W_PACKETS] < 2) this.counters.evictedUnconfirmed++;
        this.evict(s);
        return;
      }
      if (last < idlestMs) { idlestMs = last; idlest = s; }
    }
    // None silent since the last pass (the first pass over a newly full table, or every stream busy).
    this.evict(idlest);
  }

  private evict(slot: number): void {
    this.counters.evicted++;
    this.endStream(slot, EndReason.evicted);
  }

  /**
   * A stream started on one packet: the first the table gives up when full. The ring holds a quarter of
   * the slots; when full its oldest entry goes (that stream is then found by the CLOCK hand instead).
   */
  private noteUnconfirmed(slot: number): void {
    const ring = this.unconfirmed;
    if (this.unconfirmedLength === ring.length) {
      if (++this.unconfirmedHead === ring.length) this.unconfirmedHead = 0;
      this.unconfirmedLength--;
    }
    let i = this.unconfirmedHead + this.unconfirmedLength++;
    if (i >= ring.length) i -= ring.length;
    ring[i] = slot;
  }

  /**
   * New one-packet stream, table full of confirmed streams: its packet stays in the candidate cache until
   * a second one confirms the stream, which then gets a slot with both. -1.
   */
  private holdBack(): number {
    this.counters.heldBack++;
    return -1;
  }


  /**
   * Clock, its source and kind of a new payload type (rare: stream start or PT change); `bytes` is the
   * packet's payload size. Clock 0 = unknown: delta only, no jitter or skew, as tshark for a clock it
   * cannot know.
   */
  private resolvePayload(slot: number, pt: number, bytes: number): void {
    const hk = this.hooks;
    const cb = this.store.coldB(slot);
    const u8 = this.u8;
    const sdpClock = hk.resolveClock !== undefined ? hk.resolveClock(slot, pt) : 0;
    // A static payload type runs at its RFC 3551 clock whatever an rtpmap says (G722/16000 for PT 9, a
    // common mistake: its timestamps still count 8000 a second), as tshark takes it.
    const staticClock = staticClockRate(pt);
    let clock = staticClock > 0 ? staticClock : sdpClock;
    let source: number = clock > 0 && clock === sdpClock ? ClockSource.sdp : ClockSource.static;
    if (!(clock > 0)) {
      const inferred = u8[cb + L.CB_CLOCK] >> 3;
      clock = u8[cb + L.CB_INFER_PT] === (pt | 0x80) && inferred > 0 ? INFER_CLOCKS[inferred - 1] : 0;
      source = ClockSource.inferred;
    }
    if (!(clock > 0)) {
      clock = this.opts.defaultClockRate;
      source = clock > 0 ? ClockSource.config : ClockSource.unknown;
    }
    let kind = hk.resolvePayloadKind !== undefined ? hk.resolvePayloadKind(slot, pt) : -1;
    // Unsignalled PT 101 is telephone-event, as Wireshark assumes (rtpevent.event_payload_type_value),
    // unless its payload cannot be events (RFC 4733: 4 bytes per event; video also runs on 101).
    if (!(kind >= 0) && pt === 101 && bytes <= 16 && (bytes & 3) === 0) kind = Kind.TEV;
    if (!(kind >= 0)) kind = staticPayloadKind(pt);
    this.w[slot * L.HOT_W + L.W_CLOCK] = clock; // clock rates are integers (RFC 4566 rtpmap)
    u8[slot * L.HOT_BYTES + L.B_KIND] = kind;
    u8[cb + L.CB_CLOCK] = (u8[cb + L.CB_CLOCK] & 0x38) | source;
    // A known clock ends an inference still running for another payload type of the stream.
    if (clock > 0) {
      const e = this.infer.entryOf(slot);
      if (e >= 0) this.endInference(slot, e, -1);
    }
  }

  /** Infer the clock of the stream's first payload type when nothing else gives it. */
  private beginInference(slot: number, pt: number, t: number, seq: number, ts: number): void {
    if (this.u8[this.store.coldB(slot) + L.CB_INFER_PT] !== 0) return; // already tried for this stream
    if (!this.infer.begin(slot, pt, t, seq, ts)) this.counters.clockInferenceBusy++;
  }

  /**
   * A packet of a stream whose clock is unknown (arrival in arrivalMs, Wireshark's previous time in
   * wsPrevMs): a sample for its inference, if one runs for this payload type; the decision applied.
   */
  private unknownClockPacket(slot: number, pt: number, seq: number, ts: number, marker: number, sinceFirst: number, included: boolean, before: number): void {
    const inf = this.infer;
    const e = inf.entryOf(slot);
    if (e < 0 || inf.pt[e] !== pt) return;
    const t = this.arrivalMs[0];
    const firstMs = this.f[slot * L.HOT_D + L.D_FIRST_MS];
    inf.sample(e, t, this.wsPrevMs[0], seq, ts, marker, sinceFirst, firstMs, included, before, this.wsClock);
    const k = inf.decide(e, t - firstMs, sinceFirst);
    if (k !== -1) this.endInference(slot, e, k);
  }

  /**
   * Inference over: k = the chosen INFER_CLOCKS index (its jitter, skew, A.8 jitter and drift sums become
   * the stream's, as if the clock had been known from the first packet), or < 0 = the clock stays unknown.
   */
  private endInference(slot: number, e: number, k: number): void {
    const inf = this.infer;
    const cb = this.store.coldB(slot);
    const u8 = this.u8;
    u8[cb + L.CB_INFER_PT] = inf.pt[e] | 0x80;
    if (k >= 0) {
      u8[cb + L.CB_CLOCK] = ((k + 1) << 3) | ClockSource.inferred;
      adoptInferredClock(this.store, slot, inf, e, k);
    }
    inf.release(e);
  }

  private firstPacket(slot: number, t: number, seq: number, ts: number, pt: number, marker: number, bytes: number): void {
    const st = this.store;
    const f = this.f;
    const w = this.w;
    const u8 = this.u8;
    const hf = slot * L.HOT_D;
    const hw = slot * L.HOT_W;
    const hb = slot * L.HOT_BYTES;
    const cw = st.coldW(slot);
    f[hf + L.D_FIRST_MS] = t;
    f[hf + L.D_LAST_MS] = t;
    u8[hb + L.B_PT] = pt;
    this.resolvePayload(slot, pt, bytes);
    const kind = u8[hb + L.B_KIND];
    const clock = w[hw + L.W_CLOCK];
    if (clock === 0 && kind !== Kind.TEV) this.beginInference(slot, pt, t, seq, ts);
    sequenceStart(st, slot, seq);
    // A.8 jitter starts at the next packet (not for telephone events, nor without a clock).
    timingStart(st, slot, ts, kind !== Kind.TEV && clock > 0);
    if (marker) w[hw + L.W_MARKERS]++;
    if (kind === Kind.CN) w[cw + L.CW_COMFORT_NOISE]++;
    else if (kind === Kind.TEV) w[cw + L.CW_EVENTS]++;
    w[hw + L.W_PACKETS] = 1;
    const jb = this.jb;
    if (jb !== null) {
      jb.start(slot);
      jb.io[0] = t;
      jb.io[1] = 0;
      jb.packet(slot, clock > 0 && kind !== Kind.CN && kind !== Kind.TEV ? 1 : 0, marker, 0);
    }
    f[hf + L.D_BYTES] = bytes;
  }

  /**
   * The next packet of a stream; its arrival time (ms) is in arrivalMs[0], ts is the RTP timestamp as
   * int32, gap what packetSequence (sequence.ts) said of its number: the caller runs that first. The
   * packet's own counts, its timing (Wireshark's delta, jitter and skew, RFC 3550 A.8 jitter, the
   * clock-drift sums: the fields timing.ts starts, folds and reads), then the jitter buffers. A packet of a
   * new payload type, of comfort noise or events, or of a stream without a clock also takes its own
   * functions (newPayloadType, otherKindPacket, unknownClockPacket).
   *
   * The timing update is written out here rather than called: it is about 900 bytes of bytecode, over
   * V8's 460-byte limit for inlining, and as a function of its own it costs every packet a call
   * (arguments tagged and checked, the typed arrays' bases reloaded) and keeps its loads of the record's
   * later lines apart from this function's (measured: native-bench/README.md). Under V8's default limits
   * (460 bytes per function, 920 in all per compiled function) the common packet so costs two compiled
   * functions: onRtp, which inlines the stream lookup and packetSequence, and this one, which inlines the
   * jitter buffers' packet(), nextInSpurt() and played().
   */
  private nextPacket(slotArg: number, seq: number, ts: number, pt: number, marker: number, bytes: number, gap: number): void {
    const slot = slotArg & L.SLOT_MASK; // range for the compiler (stream-store.ts)
    const t = this.arrivalMs[0];
    const f = this.f;
    const w = this.w;
    const u8 = this.u8;
    const hf = slot * L.HOT_D;
    const hw = slot * L.HOT_W;
    const hb = slot * L.HOT_BYTES;
    f[hf + L.D_LAST_MS] = t;
    const before = w[hw + L.W_PACKETS]; // Wireshark's running-mean divisor: packets before this one
    if (f[hf + L.D_IV_START_MS] !== f[hf + L.D_IV_START_MS]) f[hf + L.D_IV_START_MS] = t; // NaN since the reset: first packet of the interval
    w[hw + L.W_PACKETS] = before + 1;
    f[hf + L.D_BYTES] += bytes;
    if (marker !== 0) w[hw + L.W_MARKERS]++;
    if (pt !== u8[hb + L.B_PT]) this.newPayloadType(slot, pt, bytes);
    const kind = u8[hb + L.B_KIND];
    // Signed: a timestamp older than the first packet's is a negative distance, not 2^32 minus it.
    const sinceFirst = (ts - w[hw + L.W_FIRST_TS]) | 0;
    const clock = w[hw + L.W_CLOCK];
    const inferring = kind !== Kind.MEDIA || clock === 0 ? this.otherKindPacket(slot, kind, sinceFirst) : false;
    let included = false; // in Wireshark's min/mean/max
    // Wireshark's delta / jitter / skew. Not for a timestamp older than the first packet's (the first
    // packets reordered, a sender restarting its timestamps), as tshark ("Incorrect timestamp"): the next
    // delta runs from the packet before it.
    if (sinceFirst >= 0) {
      // Wireshark's timestamp-to-ms divisor: INTEGER clock/1000 with wsClock (44100 Hz -> 44), else the
      // exact clock. None for telephone events (timestamps do not advance per packet) nor without a
      // clock: delta only.
      const div = kind === Kind.TEV ? 0 : this.wsClock ? Math.floor(clock / 1000) : clock / 1000;
      const wsPrev = f[hf + L.D_WS_PREV_MS];
      f[hf + L.D_WS_PREV_MS] = t;
      const delta = t - wsPrev;
      let jitter = f[hf + L.D_WS_JITTER];
      if (div > 0) {
        const nominal = sinceFirst / div;
        const expected = wsPrev + (nominal - f[hf + L.D_WS_NOMINAL]);
        jitter = (15 * jitter + Math.abs(t - expected)) / 16;
        f[hf + L.D_WS_JITTER] = jitter;
        f[hf + L.D_WS_NOMINAL] = nominal;
        const skew = nominal - (t - f[hf + L.D_FIRST_MS]);
        f[hf + L.D_SKEW] = skew;
        if (Math.abs(skew) > Math.abs(f[hf + L.D_IV_MAX_SKEW])) f[hf + L.D_IV_MAX_SKEW] = skew;
        if (kind !== Kind.TEV) {
          // Least-squares sums of (arrival ms, exact nominal ms) since the first packet, for clock drift.
          const x = t - f[hf + L.D_FIRST_MS];
          // Divided first: sinceFirst * 1000 leaves the int32 range after 2^31 / 1000 clock ticks (268 s at
          // 8 kHz), and the compiled loop, built on int32 multiplications, would be thrown away then.
          const y = (sinceFirst / clock) * 1000;
          w[hw + L.W_DRIFT_N]++;
          f[hf + L.D_DRIFT_X] += x;
          f[hf + L.D_DRIFT_Y] += y;
          f[hf + L.D_DRIFT_XX] += x * x;
          f[hf + L.D_DRIFT_XY] += x * y;
        }
      }
      // Excluded from min/mean/max (but still in the jitter recursion): marker, comfort noise, the packet
      // after comfort noise.
      included = marker === 0 && kind !== Kind.CN && u8[hb + L.B_PREV_KIND] !== Kind.CN;
      if (included) {
        // Wireshark's running means divide by the number of packets before this one, excluded ones too.
        f[hf + L.D_MEAN_DELTA] = (f[hf + L.D_MEAN_DELTA] * (before - 1) + delta) / before;
        w[hw + L.W_DELTAS]++;
        f[hf + L.D_SUM_DELTA] += delta;
        if (delta > f[hf + L.D_IV_MAX_DELTA]) f[hf + L.D_IV_MAX_DELTA] = delta;
        if (delta < f[hf + L.D_IV_MIN_DELTA]) f[hf + L.D_IV_MIN_DELTA] = delta;
        f[hf + L.D_IV_SUM_DELTA] += delta;
        if (div > 0) {
          f[hf + L.D_MEAN_JITTER] = (f[hf + L.D_MEAN_JITTER] * (before - 1) + jitter) / before;
          w[hw + L.W_JITTERS]++;
          if (jitter > f[hf + L.D_IV_MAX_JITTER]) f[hf + L.D_IV_MAX_JITTER] = jitter;
          if (jitter < f[hf + L.D_IV_MIN_JITTER]) f[hf + L.D_IV_MIN_JITTER] = jitter;
          f[hf + L.D_IV_SUM_JITTER] += jitter;
        }
      }
    }
    // RFC 3550 A.8 interarrival jitter in timestamp units, exact clock, 32-bit timestamp wrap; not for
    // telephone events nor without a clock.
    if (kind !== Kind.TEV && clock > 0) {
      if (u8[hb + L.B_A8_STARTED] !== 0) {
        // A transit change of a second or more is a discontinuity (the sender restarted its timestamps),
        // not jitter: it is skipped instead of dominating the estimate for hundreds of packets.
        const d = Math.abs(((t - f[hf + L.D_A8_PREV_MS]) * clock) / 1000 - ((ts - w[hw + L.W_A8_PREV_TS]) | 0));
        const j = f[hf + L.D_A8_JITTER];
        if (d < clock) f[hf + L.D_A8_JITTER] = j + (d - j) / 16;
      }
      f[hf + L.D_A8_PREV_MS] = t;
      w[hw + L.W_A8_PREV_TS] = ts;
      u8[hb + L.B_A8_STARTED] = 1;
    }
    u8[hb + L.B_PREV_KIND] = kind;
    if (inferring) this.unknownClockPacket(slot, pt, seq, ts, marker, sinceFirst, included, before);
    const jb = this.jb;
    if (jb !== null && gap !== Gap.DUPLICATE) {
      // Comfort noise and events go through the buffers as not audio; without a clock nothing is.
      const audio = clock > 0 && kind !== Kind.CN && kind !== Kind.TEV;
      jb.io[0] = t;
      jb.io[1] = audio ? (sinceFirst * 1000) / clock : 0;
      // A late packet goes in as -3 - its distance behind the highest number (jitter-buffer.ts settle()).
      jb.packet(slot, audio ? 1 : 0, marker, gap === Gap.LATE ? -3 - ((this.store.h[slot * L.HOT_H + L.H_MAX_SEQ] - seq) & 0xffff) : gap);
    }
  }

  /** A packet whose payload type differs from the stream's previous packet's. */
  private newPayloadType(slot: number, pt: number, bytes: number): void {
    this.u8[slot * L.HOT_BYTES + L.B_PT] = pt;
    this.w[this.store.coldW(slot) + L.CW_PT_CHANGES]++;
    this.resolvePayload(slot, pt, bytes);
  }

  /**
   * nextPacket's comfort noise, telephone events and streams without a clock, before their timing:
   * counted by kind. True when the packet is a sample for the clock inference (no clock, not an event,
   * not older than the first packet), with Wireshark's previous time saved for it as it was.
   */
  private otherKindPacket(slot: number, kind: number, sinceFirst: number): boolean {
    const w = this.w;
    const cw = this.store.coldW(slot);
    if (kind === Kind.CN) w[cw + L.CW_COMFORT_NOISE]++;
    else if (kind === Kind.TEV) w[cw + L.CW_EVENTS]++;
    const inferring = w[slot * L.HOT_W + L.W_CLOCK] === 0 && kind !== Kind.TEV && sinceFirst >= 0;
    if (inferring) this.wsPrevMs[0] = this.f[slot * L.HOT_D + L.D_WS_PREV_MS];
    return inferring;
  }

  /** Fill `out` with the stream's state. Report time only: formats addresses (allocates strings). */
  snapshot(slot: number, out: StreamSnapshot): void {
    const st = this.store;
    const f = this.f;
    const w = this.w;
    const u8 = this.u8;
    const hf = slot * L.HOT_D;
    const hw = slot * L.HOT_W;
    const hb = slot * L.HOT_BYTES;
    const cw = st.coldW(slot);
    const cb = st.coldB(slot);
    const ch = st.coldH(slot);
    const flags = u8[hb + L.B_FLAGS];
    const v = (flags & L.FLAG_IPV6) !== 0 ? 6 : 4;
    out.slot = slot;
    out.ssrc = this.keyWord(slot, 9);
    out.ipVersion = v;
    out.srcIp = formatIp(v, this.keyWord(slot, 0), this.keyWord(slot, 1), this.keyWord(slot, 2), this.keyWord(slot, 3));
    out.dstIp = formatIp(v, this.keyWord(slot, 4), this.keyWord(slot, 5), this.keyWord(slot, 6), this.keyWord(slot, 7));
    out.srcPort = this.keyWord(slot, 8) >>> 16;
    out.dstPort = this.keyWord(slot, 8) & 0xffff;
    out.srcMac = (flags & L.FLAG_HAS_SRC_MAC) !== 0 ? formatMac(u8, cb + L.CB_MACS) : '';
    out.dstMac = (flags & L.FLAG_HAS_DST_MAC) !== 0 ? formatMac(u8, cb + L.CB_MACS + 6) : '';
    out.vlan = this.h16[ch + L.CH_VLAN_PLUS_1] - 1;
    out.payloadType = u8[hb + L.B_PT];
    out.clockRate = w[hw + L.W_CLOCK];
    out.jitterMs = a8JitterMs(st, slot);
    out.skewMs = f[hf + L.D_SKEW];
    out.clockDriftPpm = driftPpm(st, slot);
    this.settleSuccession(slot, false);
    out.ssrcChanges = this.h16[ch + L.CH_SSRC_CHANGES];
    out.clockSource = u8[cb + L.CB_CLOCK] & 7;
    out.payloadTypeChanges = w[cw + L.CW_PT_CHANGES];
    out.markers = w[hw + L.W_MARKERS];
    out.comfortNoise = w[cw + L.CW_COMFORT_NOISE];
    out.telephoneEvents = w[cw + L.CW_EVENTS];
    out.hostTimestamps = (flags & L.FLAG_HOST_TS) !== 0;
    const epochMs = this.epochSec * 1000;
    out.firstSeenMs = epochMsPlus(epochMs, f[hf + L.D_FIRST_MS]);
    out.lastSeenMs = epochMsPlus(epochMs, f[hf + L.D_LAST_MS]);
    out.wiresharkJitterMs = f[hf + L.D_WS_JITTER];
    const wsExpected = wiresharkExpected(st, slot);
    out.wiresharkExpected = wsExpected;
    out.wiresharkLost = wsExpected - w[hw + L.W_PACKETS];

    const x = this.maxStreams; // the scratch record
    resolvedLoss(st, slot, x);
    this.resolvedSlot = slot;
    this.resolvedPackets = w[hw + L.W_PACKETS];
    const expected = rfcExpected(st, slot);
    this.fillCounters(slot, out.cumulative, expected, epochMs, true);
    // Numbers from the first packet to the last, when the last is the highest of one segment (both counts agree).
    const spacingMs = packetMs(st, slot, wsExpected === expected ? expected - 1 : 0, out.cumulative.lost, out.cumulative.duplicates);
    lossMetrics(w, u8, x * L.HOT_BYTES, st.coldW(x), expected, hb, cw, 0, spacingMs, out.cumulative);
    const prior = w[cw + L.CW_EXPECTED_BASE];
    this.fillCounters(slot, out.interval, expected - prior, epochMs, false);
    lossMetrics(w, u8, x * L.HOT_BYTES, st.coldW(x), expected, hb, cw, prior, spacingMs, out.interval);
    const jb = this.jb;
    out.jitterBuffers = jb !== null;
    if (jb !== null && out.jb !== undefined) {
      jb.read(slot, true, out.jb.cumulative);
      jb.read(slot, false, out.jb.interval);
      jb.readXr(slot, spacingMs, out.jb.xr);
    }
  }

  /** One counter set of a snapshot: the cumulative one, or the interval's; `expected` is the period's. */
  private fillCounters(slot: number, o: StreamCounters, expected: number, epochMs: number, cumulative: boolean): void {
    fillSequenceCounters(this.store, slot, o, expected, cumulative);
    fillTimingCounters(this.store, slot, o, o.packets, epochMs, cumulative);
  }

  /** Start a new report interval for `slot` (call right after reading its snapshot). */
  resetInterval(slot: number): void {
    foldTimingInterval(this.store, slot);
    // The snapshot read just before left this stream's loss model resolved in the scratch record (the
    // walk over the reorder window is a third of an interval's scoring): resolved again only when
    // another snapshot or a packet of the stream came between.
    const x = this.maxStreams;
    const resolved = this.resolvedSlot === slot && this.resolvedPackets === this.w[slot * L.HOT_W + L.W_PACKETS];
    setSequenceBase(this.store, slot, x, resolved);
    if (this.jb !== null) this.jb.resetInterval(slot);
  }

  /** End a stream (RTCP BYE, SIP BYE, shutdown...): onStreamEnd once, then the slot is freed. */
  endStream(slot: number, reason: number): boolean {
    if (!this.isActive(slot)) return false;
    // Its SSRC change (and its follower's) decided while both streams' packet times are at hand.
    this.settleSuccession(slot, true);
    const follower = this.succession.follower(slot);
    if (follower >= 0) this.settleSuccession(follower, true);
    // Out of the active part of slotList first (isActive false from here, as before the hook).
    const pos = this.slotPos[slot];
    const lastPos = --this.activeCount;
    const last = this.slotList[lastPos];
    this.slotList[pos] = last;
    this.slotPos[last] = pos;
    this.slotList[lastPos] = slot;
    this.slotPos[slot] = lastPos;
    const hk = this.hooks.onStreamEnd;
    if (hk !== undefined) hk(slot, reason);
    if (this.resolvedSlot === slot) this.resolvedSlot = -1; // the slot's next stream has its own loss model
    const e = this.infer.entryOf(slot);
    if (e >= 0) this.infer.release(e);
    this.streams.remove(slot);
    const hb = slot * L.HOT_BYTES;
    if ((this.u8[hb + L.B_FLAGS] & L.FLAG_IN_TUPLES) !== 0) {
      this.tuples.remove(slot);
      this.u8[hb + L.B_FLAGS] &= ~L.FLAG_IN_TUPLES;
    }
    this.w[this.store.coldW(slot) + L.CW_CALL_REF] = -1;
    this.counters.streamsEnded++;
    return true;
  }

  /** End every stream silent for silenceTimeoutMs at capture time nowMs (ms since the epoch). */
  expire(nowMs: number): number {
    if (this.epochSec < 0) return 0;
    const limit = nowMs - this.epochSec * 1000 - this.opts.silenceTimeoutMs;
    let ended = 0;
    for (let i = this.activeCount - 1; i >= 0; i--) {
      const s = this.slotList[i];
      if (this.f[s * L.HOT_D + L.D_LAST_MS] < limit) {
        this.endStream(s, EndReason.timeout);
        ended++;
      }
    }
    return ended;
  }

  /** End of input or shutdown: every stream ends; packets still held as candidates count as discarded. */
  endAll(reason: number): void {
    for (let i = this.activeCount - 1; i >= 0; i--) this.endStream(this.slotList[i], reason);
    this.cands.discardAll();
  }

  /** Visit active slots; `fn` may end the slot it is given (and only that one). */
  forEachActive(fn: (slot: number) => void): void {
    for (let i = this.activeCount - 1; i >= 0; i--) fn(this.slotList[i]);
  }

  /** True when `test` holds for an active slot; it stops at the first such slot. */
  someActive(test: (slot: number) => boolean): boolean {
    for (let i = this.activeCount - 1; i >= 0; i--) if (test(this.slotList[i])) return true;
    return false;
  }
}
