/**
 * The RTP stream engine: the hot loop. One call per RTP packet (or a batch of them), all state in one
 * typed buffer of fixed-size per-stream records (stream-store.ts), nothing allocated per packet.
 *
 * Two families of metrics are kept per stream:
 *  - Wireshark's (tshark 4.0 `-z rtp,streams` / RTP Stream Analysis): delta, jitter, skew, sequence
 *    errors, "lost" from first/last sequence number. Reproduced exactly (see nextPacket) so that numbers
 *    users compare with tshark agree to its printed precision.
 *  - RFC 3550's: A.1 sequence validation (MAX_DROPOUT, MAX_MISORDER, resync after two sequential packets
 *    past a jump), A.3 expected/lost per interval, A.8 interarrival jitter, plus duplicates and
 *    out-of-order from a 128-packet reorder window, and the Gilbert / RFC 3611 loss pattern.
 * Both are kept cumulative and per report interval side by side; a report is a read of the records.
 */
import { DecodedPacket } from '../decode/packet.js';
import type { StreamCounters, StreamSnapshot } from './snapshot.js';
import { CandidateCache } from './candidates.js';
import { rtpHeaderLength, rtpPaddingLength, isRtpCandidate } from './rtp-header.js';
import { PayloadKind, staticClockRate, staticPayloadKind } from './payload-types.js';
import { EndReason } from './reasons.js';
import { lossFeed, lossResolve, lossCopy, lossSetBase, lossMetrics, type LossMetrics } from './loss-model.js';
import { formatIp, formatMac } from './format.js';
import { hashStreamKey, RecordIndex, StreamIndex } from './stream-index.js';
import {
  StreamStore, HOT_W, HOT_D, HOT_H, HOT_BYTES, COLD_BYTES,
  W_FIRST_TS, W_A8_PREV_TS, W_CYCLES, W_FIN_EXT, W_BAD_SEQ, W_PK, W_NINC, W_NINCJ, W_LS_N, W_CLOCK, W_WIN, W_MARKERS,
  H_MAX_SEQ, H_WS_SEQ, H_STOP_SEQ, H_FIRST_SEQ, B_PT, B_KIND, B_PREV_KIND, B_WS_UNDER, B_A8_VALID, B_FLAGS,
  FLAG_IPV6, FLAG_HOST_TS, FLAG_HAS_MAC, FLAG_IN_TUPLES,
  D_LAST_MS, D_FIRST_MS, D_LAST_NOM, D_WS_JIT, D_WS_DELTA, D_SKEW, D_A8_J, D_A8_PREV_MS, D_LS_X, D_LS_Y, D_LS_XX, D_LS_XY,
  D_BY, D_MEAND, D_MEANJ, D_SUMD, D_I_MIND, D_I_MAXD, D_I_MINJ, D_I_MAXJ, D_I_MAXSK, D_I_SUMD, D_I_SUMJ, D_I_START,
  D_C_MIND, D_C_MAXD, D_C_MINJ, D_C_MAXJ, D_C_MAXSK, D_BY_BASE,
  W_SE, W_OO, W_DU, W_CN, W_TEV, W_PT_CHANGES, W_SSRC_CHANGES, W_EXP_OFF, W_EXP_PRIOR, W_B_PK, W_B_SE, W_B_OO, W_B_DU,
  W_B_NINC, W_B_NINCJ, W_CALLREF, H_WS_CYCLES, H_VLAN1, B_MACS,
} from './stream-store.js';

export interface RtpHeuristicOptions {
  /** Consecutive in-sequence packets of one (5-tuple, SSRC) before an unsignalled stream counts. */
  minConsecutive: number;
  /** Only accept unsignalled RTP on even destination AND source ports (RFC 3550 11 convention). */
  requireEvenPort: boolean;
  /** Inclusive payload type ranges accepted without signalling. */
  allowedPayloadTypes: Array<[number, number]>;
  /** Unsignalled packets to or from ports below this are ignored (well-known service ports). */
  minPort: number;
  /** Size of the candidate cache (rounded up to a power of two). */
  candidateSlots: number;
}

export interface RtpEngineOptions {
  maxStreams: number;
  /** A stream with no packet for this long (capture time) is ended by expire(). */
  silenceTimeoutMs: number;
  heuristic: Partial<RtpHeuristicOptions>;
  /** Clock for payload types neither the hooks nor RFC 3551 know (dynamic PT without SDP). */
  defaultClockRate: number;
  /**
   * Wireshark converts timestamps to ms with INTEGER clock/1000 (44100 Hz -> 44, a 0.2 % error that
   * shows up as jitter and skew drift on L16 44.1 kHz). true reproduces that, for comparisons with
   * tshark; false (default) uses the exact clock, which is what the report should say.
   */
  wiresharkCompatibleClock: boolean;
  /** A new SSRC on a 5-tuple ends the previous stream on that 5-tuple (reason ssrcChange). */
  endOnSsrcChange: boolean;
}

export interface RtpEngineHooks {
  /** Clock rate of `pt` on this stream (from SDP), 0 when unknown. Called on stream start and PT change. */
  resolveClock?: (slot: number, pt: number) => number;
  /** PayloadKind of `pt` (e.g. telephone-event from SDP), -1 when unknown. Same calling rule. */
  resolvePayloadKind?: (slot: number, pt: number) => number;
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
  /** Well-formed but not (yet) counted: unsignalled packets below the heuristic's bar. */
  heuristicPending = 0;
  heuristicRejected = 0;
  streamsStarted = 0;
  streamsEnded = 0;
  evicted = 0;
  ssrcChanges = 0;
}

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 65536;
/** Reorder window for duplicate/out-of-order detection and for finalizing loss states (bits in 4 words). */
const WIN = 128;
const KEY_WORDS = 10; // src0..3, dst0..3, ports, ssrc
const TEV = PayloadKind.telephoneEvent;
const CN = PayloadKind.comfortNoise;
/** Packets held by enqueue() before flush() processes them. */
const QUEUE = 128;

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
  private readonly f: Float64Array;
  private readonly w: Int32Array;
  private readonly h16: Uint16Array;
  private readonly u8: Uint8Array;
  private readonly coldW0: number;
  private readonly coldD0: number;
  private readonly coldH0: number;
  private readonly coldB0: number;
  private readonly streams: StreamIndex;
  /** 5-tuple -> the latest stream on it (SSRC changes). */
  private readonly tuples: RecordIndex;
  /** Key of the packet that starts a stream (filled on a lookup miss only). */
  private readonly newKey = new Int32Array(KEY_WORDS);
  private readonly lossOut: LossMetrics = { lossP: 0, lossQ: 0, burstR: 1, burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0 };
  /** Slots: active ones in [0, activeCount), free ones after (next allocated: slotList[activeCount]). */
  private readonly slotList: Int32Array;
  /** Position of each slot in slotList. */
  private readonly slotPos: Int32Array;
  private activeCount = 0;
  /** Bumped whenever a stream starts or ends: a batch's early lookups are then redone. */
  private generation = 0;

  // Candidate cache for unsignalled streams: direct-mapped by key hash.
  private readonly cands: CandidateCache;

  // Packet queue of enqueue()/flush(): header fields, key and hash per packet.
  private readonly qKey = new Int32Array(QUEUE * KEY_WORDS);
  private readonly qHash = new Int32Array(QUEUE);
  /** seq | pt << 16 | marker << 23 | signalled << 24; -1 = not counted (rejected at enqueue). */
  private readonly qHdr = new Int32Array(QUEUE);
  private readonly qTs = new Float64Array(QUEUE);
  private readonly qT = new Float64Array(QUEUE);
  private readonly qBytes = new Int32Array(QUEUE);
  /** ipVersion | (vlan + 1) << 8 for stream starts, MAC offsets. */
  private readonly qLink = new Int32Array(QUEUE * 3);
  private readonly qFrame: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(QUEUE).fill(undefined);
  /** After flush(): slot of each queued packet, -1 when not counted. */
  readonly batchSlots = new Int32Array(QUEUE);
  private qCount = 0;
  private flushing = false;
  /** Sink for the prefetching loads of flush() (so they are not optimised away). */
  private touched = 0;

  private hostTimestamps = false;
  /** Whole second of the first packet: times are float64 ms relative to it to keep sub-us precision. */
  private epochSec = -1;
  private nowRelMs = 0;

  constructor(options: Partial<RtpEngineOptions> = {}, hooks: RtpEngineHooks = {}) {
    this.opts = {
      maxStreams: options.maxStreams ?? 10000,
      silenceTimeoutMs: options.silenceTimeoutMs ?? 30000,
      heuristic: options.heuristic ?? {},
      defaultClockRate: options.defaultClockRate ?? 8000,
      wiresharkCompatibleClock: options.wiresharkCompatibleClock ?? false,
      endOnSsrcChange: options.endOnSsrcChange ?? false,
    };
    this.heur = { ...DEFAULT_HEURISTIC, ...this.opts.heuristic };
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
    this.coldW0 = store.coldW(0);
    this.coldD0 = store.coldD(0);
    this.coldH0 = store.coldH(0);
    this.coldB0 = store.coldB(0);
    this.streams = new StreamIndex(store.w, n);
    this.tuples = new RecordIndex(store.w, n, 9);
    this.slotList = new Int32Array(n);
    this.slotPos = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.slotList[i] = i; // slot 0 is allocated first
      this.slotPos[i] = i;
    }
    this.cands = new CandidateCache(this.heur.candidateSlots, KEY_WORDS);
  }

  /** Bytes of typed-array state (for the memory-per-stream figure). */
  get stateBytes(): number {
    return this.stateBreakdown().total;
  }

  /** State bytes by part, from the arrays actually allocated. */
  stateBreakdown(): StateBreakdown {
    const n = this.maxStreams;
    const recordHot = n * HOT_BYTES;
    const recordCold = n * COLD_BYTES;
    const scratch = this.store.byteSize - recordHot - recordCold;
    const streamIndex = this.streams.byteSize;
    const tupleIndex = this.tuples.byteSize;
    const lists = this.slotList.byteLength + this.slotPos.byteLength;
    const queue =
      this.qKey.byteLength + this.qHash.byteLength + this.qHdr.byteLength + this.qTs.byteLength + this.qT.byteLength +
      this.qBytes.byteLength + this.qLink.byteLength + this.batchSlots.byteLength;
    const fixed = this.cands.byteSize + this.newKey.byteLength + this.ptAllowed.byteLength + queue;
    const total = recordHot + recordCold + scratch + streamIndex + tupleIndex + lists + fixed;
    return { recordHot, recordCold, scratch, streamIndex, tupleIndex, lists, fixed, total, perStream: (total - fixed) / n, slots: n };
  }

  get activeStreams(): number {
    return this.activeCount;
  }

  /** Capture time of the latest packet, ms since the Unix epoch (0 before the first packet). */
  get nowMs(): number {
    return this.epochSec < 0 ? 0 : this.epochSec * 1000 + this.nowRelMs;
  }

  setHostTimestamps(on: boolean): void {
    this.hostTimestamps = on;
  }

  isRtpCandidate(buf: Uint8Array, off: number, len: number): boolean {
    return isRtpCandidate(buf, off, len);
  }

  setCallRef(slot: number, ref: number): void {
    this.w[this.coldW0 + slot * (COLD_BYTES >> 2) + W_CALLREF] = ref;
  }

  callRef(slot: number): number {
    return this.w[this.coldW0 + slot * (COLD_BYTES >> 2) + W_CALLREF];
  }

  isActive(slot: number): boolean {
    return slot >= 0 && slot < this.maxStreams && this.slotPos[slot] < this.activeCount;
  }

  private keyWord(slot: number, i: number): number {
    return this.w[slot * HOT_W + i] >>> 0;
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
    return this.u8[slot * HOT_BYTES + B_PT];
  }
  /** Wireshark's per-packet values after the latest packet (what sharkd's analysis lists): delta, jitter, skew in ms. */
  lastDeltaMs(slot: number): number {
    return this.f[slot * HOT_D + D_WS_DELTA];
  }
  wiresharkJitterMs(slot: number): number {
    return this.f[slot * HOT_D + D_WS_JIT];
  }
  skewMs(slot: number): number {
    return this.f[slot * HOT_D + D_SKEW];
  }

  private cw(slot: number): number {
    return this.coldW0 + slot * (COLD_BYTES >> 2);
  }
  private cd(slot: number): number {
    return this.coldD0 + slot * (COLD_BYTES >> 3);
  }

  /**
   * Account one UDP payload that classification sent here. `signalled` = an SDP binding covers it, so it
   * counts from the first packet; otherwise the heuristic must promote it first. `frameBuf` is the
   * buffer pkt.srcMacOffset points into (the batch buffer; defaults to pkt.payloadBuf).
   * Returns the stream slot, or -1 when the packet was not (yet) counted.
   */
  onRtp(pkt: DecodedPacket, signalled: boolean, frameBuf?: Uint8Array): number {
    if (this.qCount > 0) this.drain();
    if (this.enqueue(pkt, signalled, frameBuf) === 0) return -1;
    const q = --this.qCount;
    return this.processQueued(q, -1);
  }

  /**
   * Queue one UDP payload (same arguments as onRtp) for flush(), which processes queued packets in
   * order, with the same results as onRtp one by one. Between the two the engine overlaps the memory
   * accesses of independent packets (stream lookup, then the records' lines), which is what keeps the
   * cost per packet flat when the streams do not fit in the caches. A full queue flushes itself.
   * Returns 1 when the packet was queued, 0 when rejected here (not RTP, malformed: counted at once).
   * Anything else called on the engine first processes what is queued.
   */
  enqueue(pkt: DecodedPacket, signalled: boolean, frameBuf?: Uint8Array): number {
    const b = pkt.payloadBuf;
    const off = pkt.payloadOffset;
    const len = pkt.payloadLength;
    if (len < 12 || b[off] >> 6 !== 2) {
      this.counters.notRtp++;
      return 0;
    }
    const pt = b[off + 1] & 0x7f;
    if (pt >= 72 && pt <= 95) {
      this.counters.notRtp++; // RTCP multiplexed on the RTP port
      return 0;
    }
    const hdr = rtpHeaderLength(b, off, len);
    if (hdr < 0) {
      this.counters.malformed++;
      return 0;
    }
    if (this.qCount === QUEUE) this.flush();
    const q = this.qCount++;
    this.qBytes[q] = len - hdr - rtpPaddingLength(b, off, len);
    this.qHdr[q] = ((b[off + 2] << 8) | b[off + 3]) | (pt << 16) | ((b[off + 1] >> 7) << 23) | (signalled ? 1 << 24 : 0);
    this.qTs[q] = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
    const k9 = (b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11];

    if (this.epochSec < 0) this.epochSec = pkt.tsSec;
    const t = (pkt.tsSec - this.epochSec) * 1000 + pkt.tsNsec / 1e6;
    if (t > this.nowRelMs) this.nowRelMs = t;
    this.qT[q] = t;

    const k0 = pkt.src0 | 0, k1 = pkt.src1 | 0, k2 = pkt.src2 | 0, k3 = pkt.src3 | 0;
    const k4 = pkt.dst0 | 0, k5 = pkt.dst1 | 0, k6 = pkt.dst2 | 0, k7 = pkt.dst3 | 0;
    const k8 = (pkt.srcPort << 16) | pkt.dstPort;
    const qk = this.qKey;
    const kb = q * KEY_WORDS;
    qk[kb] = k0; qk[kb + 1] = k1; qk[kb + 2] = k2; qk[kb + 3] = k3; qk[kb + 4] = k4;
    qk[kb + 5] = k5; qk[kb + 6] = k6; qk[kb + 7] = k7; qk[kb + 8] = k8; qk[kb + 9] = k9;
    this.qHash[q] = hashStreamKey(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9);
    const lb = q * 3;
    this.qLink[lb] = pkt.ipVersion | ((pkt.vlan + 1) << 8);
    this.qLink[lb + 1] = pkt.srcMacOffset;
    this.qLink[lb + 2] = pkt.dstMacOffset;
    this.qFrame[q] = frameBuf === undefined ? b : frameBuf;
    return 1;
  }

  /**
   * Process the queued packets in order; returns how many were counted. batchSlots[i] is then the slot
   * of the i-th queued packet (-1: not counted). Pass 1 reads the index entries and pass 2 the records'
   * lines of all queued packets (independent loads the CPU overlaps); pass 3 does the updates.
   */
  flush(): number {
    const n = this.qCount;
    if (n === 0 || this.flushing) return 0;
    this.flushing = true;
    const slots = this.batchSlots;
    const qh = this.qHash;
    const streams = this.streams;
    for (let i = 0; i < n; i++) slots[i] = streams.peek(qh[i]);
    const w = this.w;
    const qk = this.qKey;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (s < 0) continue;
      const b = s * HOT_W;
      // One load per cache line of the hot part: the first also checks the SSRC.
      if (w[b + 9] !== qk[i * KEY_WORDS + 9]) slots[i] = -1;
      acc ^= w[b + 16] ^ w[b + 32] ^ w[b + 48] ^ w[b + 64];
    }
    this.touched = acc;
    const gen = this.generation;
    let counted = 0;
    for (let i = 0; i < n; i++) {
      const s = this.processQueued(i, this.generation === gen ? slots[i] : -1);
      slots[i] = s;
      if (s >= 0) counted++;
    }
    for (let i = 0; i < n; i++) this.qFrame[i] = undefined;
    this.qCount = 0;
    this.flushing = false;
    return counted;
  }

  /** Flush unless called from inside a flush (hooks). */
  private drain(): void {
    if (!this.flushing) this.flush();
  }

  /** The onRtp work for queued packet q; `guess` = its slot if already looked up (verified here), else -1. */
  private processQueued(q: number, guess: number): number {
    const qk = this.qKey;
    const kb = q * KEY_WORDS;
    const k0 = qk[kb], k1 = qk[kb + 1], k2 = qk[kb + 2], k3 = qk[kb + 3], k4 = qk[kb + 4];
    const k5 = qk[kb + 5], k6 = qk[kb + 6], k7 = qk[kb + 7], k8 = qk[kb + 8], k9 = qk[kb + 9];
    const h = this.qHash[q];
    const hdr = this.qHdr[q];
    const seq = hdr & 0xffff;
    const pt = (hdr >> 16) & 0x7f;
    const marker = (hdr >> 23) & 1;
    const ts = this.qTs[q];
    const t = this.qT[q];
    const bytes = this.qBytes[q];
    let slot = guess;
    if (slot >= 0) {
      const w = this.w;
      const b = slot * HOT_W;
      if (!(w[b + 9] === k9 && w[b + 8] === k8 && w[b + 3] === k3 && w[b + 7] === k7 && w[b] === k0 && w[b + 1] === k1 &&
        w[b + 2] === k2 && w[b + 4] === k4 && w[b + 5] === k5 && w[b + 6] === k6)) slot = -1;
    }
    if (slot < 0) slot = this.streams.find(h, k0, k1, k2, k3, k4, k5, k6, k7, k8, k9);
    if (slot >= 0) {
      this.counters.packets++;
      this.nextPacket(slot, t, seq, ts, pt, marker, bytes);
      return slot;
    }
    const k = this.newKey;
    k[0] = k0; k[1] = k1; k[2] = k2; k[3] = k3; k[4] = k4; k[5] = k5; k[6] = k6; k[7] = k7; k[8] = k8; k[9] = k9;
    // A candidate entry holds the packets seen before the stream counted (heuristic probation, or
    // packets that came before their SDP binding was known): they are fed first, in arrival order.
    let cand: number;
    if ((hdr & (1 << 24)) === 0) {
      cand = this.promote(h, pt, seq, ts, t, marker, bytes, k8 >>> 16, k8 & 0xffff);
      if (cand < 0) return -1;
    } else {
      cand = this.adoptCandidate(h, pt, seq, ts, t, marker, bytes);
    }
    slot = this.startStream(h, q, t);
    if (cand >= 0) {
      this.replayCandidate(slot, cand);
    } else {
      this.counters.packets++;
      this.firstPacket(slot, t, seq, ts, pt, marker, bytes);
    }
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
    if (run >= hs.minConsecutive) return h & cands.mask;
    if (ptOk) this.counters.heuristicPending++;
    else this.counters.heuristicRejected++;
    return -1;
  }

  /**
   * Signalled start of a stream whose earlier packets sit in a candidate entry (the pipeline tries the
   * heuristic first, so the current packet may already be its newest entry): entry index or -1.
   */
  private adoptCandidate(h: number, pt: number, seq: number, ts: number, t: number, marker: number, bytes: number): number {
    const cands = this.cands;
    const c = cands.find(h, this.newKey);
    if (c < 0) return -1;
    const p = cands.pending(c, cands.pendingCount(c) - 1);
    if (!(cands.pSeq[p] === seq && cands.pMs[p] === t && cands.pTs[p] === ts)) cands.add(h, this.newKey, true, seq, ts, t, pt, marker, bytes);
    return c;
  }

  /** Feed a promoted candidate's packets (the promoting one last) as the stream's first packets. */
  private replayCandidate(slot: number, c: number): void {
    const cd = this.cands;
    const n = cd.pendingCount(c);
    let p = cd.pending(c, 0);
    this.firstPacket(slot, cd.pMs[p], cd.pSeq[p], cd.pTs[p], cd.pPt[p], cd.pMarker[p], cd.pBytes[p]);
    for (let k = 1; k < n; k++) {
      p = cd.pending(c, k);
      this.nextPacket(slot, cd.pMs[p], cd.pSeq[p], cd.pTs[p], cd.pPt[p], cd.pMarker[p], cd.pBytes[p]);
    }
    this.counters.packets += n;
    cd.clear(c);
  }

  /** New stream for the key in newKey (hash h), link-layer details from queued packet q. */
  private startStream(h: number, q: number, t: number): number {
    if (this.activeCount === this.maxStreams) this.evictIdlest();
    const slot = this.slotList[this.activeCount++];
    this.generation++;
    const store = this.store;
    store.clear(slot);
    const w = this.w;
    const hw = slot * HOT_W;
    for (let i = 0; i < KEY_WORDS; i++) w[hw + i] = this.newKey[i];
    this.streams.insert(slot, h);
    const link = this.qLink[q * 3];
    const hb = slot * HOT_BYTES;
    const cb = this.coldB0 + slot * COLD_BYTES;
    let flags = (link & 0xff) === 6 ? FLAG_IPV6 : 0;
    if (this.hostTimestamps) flags |= FLAG_HOST_TS;
    this.h16[this.coldH0 + slot * (COLD_BYTES >> 1) + H_VLAN1] = (link >> 8) & 0xffff;
    const cw = this.cw(slot);
    w[cw + W_CALLREF] = -1;
    const frameBuf = this.qFrame[q]!;
    const mo = this.qLink[q * 3 + 1];
    const md = this.qLink[q * 3 + 2];
    if (mo >= 0 && md >= 0 && mo + 6 <= frameBuf.length && md + 6 <= frameBuf.length) {
      for (let i = 0; i < 6; i++) {
        this.u8[cb + B_MACS + i] = frameBuf[mo + i];
        this.u8[cb + B_MACS + 6 + i] = frameBuf[md + i];
      }
      flags |= FLAG_HAS_MAC;
    }

    // Note SSRC changes on this 5-tuple.
    const th = hashStreamKey(w[hw], w[hw + 1], w[hw + 2], w[hw + 3], w[hw + 4], w[hw + 5], w[hw + 6], w[hw + 7], w[hw + 8], 0);
    const prev = this.tuples.findLike(th, slot);
    if (prev >= 0) {
      w[cw + W_SSRC_CHANGES] = w[this.cw(prev) + W_SSRC_CHANGES] + 1;
      this.counters.ssrcChanges++;
      this.tuples.remove(prev);
      this.u8[prev * HOT_BYTES + B_FLAGS] &= ~FLAG_IN_TUPLES;
    }
    this.tuples.insert(slot, th);
    this.u8[hb + B_FLAGS] = flags | FLAG_IN_TUPLES;
    if (prev >= 0 && this.opts.endOnSsrcChange) this.endStream(prev, EndReason.ssrcChange);
    this.counters.streamsStarted++;
    const hk = this.hooks.onStreamStart;
    if (hk !== undefined) hk(slot);
    void t;
    return slot;
  }

  private evictIdlest(): void {
    let best = -1;
    let bestMs = Infinity;
    for (let i = 0; i < this.activeCount; i++) {
      const s = this.slotList[i];
      const last = this.f[s * HOT_D + D_LAST_MS];
      if (last < bestMs) { bestMs = last; best = s; }
    }
    this.counters.evicted++;
    this.endStream(best, EndReason.evicted);
  }

  /** Clock and kind of a new payload type (rare: stream start or PT change). */
  private resolvePayload(slot: number, pt: number): void {
    const hk = this.hooks;
    let clock = hk.resolveClock !== undefined ? hk.resolveClock(slot, pt) : 0;
    if (!(clock > 0)) clock = staticClockRate(pt);
    if (!(clock > 0)) clock = this.opts.defaultClockRate;
    let kind = hk.resolvePayloadKind !== undefined ? hk.resolvePayloadKind(slot, pt) : -1;
    if (!(kind >= 0)) kind = staticPayloadKind(pt);
    this.w[slot * HOT_W + W_CLOCK] = clock; // clock rates are integers (RFC 4566 rtpmap)
    this.u8[slot * HOT_BYTES + B_KIND] = kind;
  }

  /** Wireshark's timestamp-to-ms divisor; 0 for telephone events (timestamps do not advance per packet). */
  private divisor(clock: number, kind: number): number {
    if (kind === TEV) return 0;
    return this.opts.wiresharkCompatibleClock ? Math.floor(clock / 1000) : clock / 1000;
  }

  private firstPacket(slot: number, t: number, seq: number, ts: number, pt: number, marker: number, bytes: number): void {
    const f = this.f;
    const w = this.w;
    const u8 = this.u8;
    const hf = slot * HOT_D;
    const hw = slot * HOT_W;
    const hh = slot * HOT_H;
    const hb = slot * HOT_BYTES;
    const cw = this.cw(slot);
    const cd = this.cd(slot);
    f[hf + D_FIRST_MS] = t;
    f[hf + D_LAST_MS] = t;
    w[hw + W_FIRST_TS] = ts;
    const h16 = this.h16;
    h16[hh + H_FIRST_SEQ] = seq;
    h16[hh + H_STOP_SEQ] = seq;
    h16[hh + H_WS_SEQ] = seq;
    u8[hb + B_PT] = pt;
    this.resolvePayload(slot, pt);
    const kind = u8[hb + B_KIND];
    u8[hb + B_PREV_KIND] = kind;
    // RFC 3550 A.1: the heuristic (or signalling) already served as probation, so start valid.
    h16[hh + H_MAX_SEQ] = seq;
    w[hw + W_CYCLES] = SEQ_MOD; // extended numbers start one cycle up so a resync to seq 0 stays positive
    const ext = SEQ_MOD + seq;
    w[cw + W_EXP_OFF] = ext;
    w[hw + W_FIN_EXT] = ext;
    w[hw + W_BAD_SEQ] = -1;
    w[hw + W_WIN + ((ext >> 5) & 3)] |= 1 << (ext & 31);
    this.a8(hw, hf, hb, t, ts);
    if (marker) w[hw + W_MARKERS]++;
    if (kind === CN) w[cw + W_CN]++;
    else if (kind === TEV) w[cw + W_TEV]++;
    w[hw + W_PK] = 1;
    f[hf + D_BY] = bytes;
    f[hf + D_I_START] = t;
    f[hf + D_I_MIND] = Infinity;
    f[hf + D_I_MINJ] = Infinity;
    f[cd + D_C_MIND] = Infinity;
    f[cd + D_C_MINJ] = Infinity;
  }

  private nextPacket(slot: number, t: number, seq: number, ts: number, pt: number, marker: number, bytes: number): void {
    const f = this.f;
    const w = this.w;
    const u8 = this.u8;
    const h16 = this.h16;
    const hf = slot * HOT_D;
    const hw = slot * HOT_W;
    const hh = slot * HOT_H;
    const hb = slot * HOT_BYTES;
    const prevMs = f[hf + D_LAST_MS]; // the previous packet's time
    f[hf + D_LAST_MS] = t;
    const before = w[hw + W_PK]; // Wireshark's running-mean divisor: packets before this one
    if (f[hf + D_I_START] !== f[hf + D_I_START]) f[hf + D_I_START] = t; // NaN since the reset: first packet of the interval
    w[hw + W_PK] = before + 1;
    f[hf + D_BY] += bytes;
    if (marker) w[hw + W_MARKERS]++;

    // ---- Wireshark sequence bookkeeping (cycles for its "expected", sequence errors) ----
    const firstTs = w[hw + W_FIRST_TS];
    const sinceFirst = (ts - firstTs) >>> 0;
    const wrongTs = sinceFirst >= 0x80000000; // timestamp older than the first packet's
    const firstSeq = h16[hh + H_FIRST_SEQ];
    const under = u8[hb + B_WS_UNDER];
    if (under === 0 ? seq < firstSeq || (seq === 0 && h16[hh + H_STOP_SEQ] === 65535) : seq > firstSeq) {
      if (under === 0) {
        h16[this.coldH0 + slot * (COLD_BYTES >> 1) + H_WS_CYCLES]++;
        u8[hb + B_WS_UNDER] = 1;
      } else {
        u8[hb + B_WS_UNDER] = 0;
      }
    }
    const wsSeq = h16[hh + H_WS_SEQ];
    if (wsSeq + 1 === seq || (wsSeq === 65535 && seq === 0)) {
      h16[hh + H_WS_SEQ] = seq;
    } else {
      if (wsSeq + 1 < seq || wsSeq - seq > 0xff00) h16[hh + H_WS_SEQ] = seq; // a gap: one error however many are missing
      w[this.cw(slot) + W_SE]++; // else late or duplicate
    }
    h16[hh + H_STOP_SEQ] = seq;

    // ---- payload type ----
    const prevKind = u8[hb + B_PREV_KIND];
    if (pt !== u8[hb + B_PT]) {
      u8[hb + B_PT] = pt;
      w[this.cw(slot) + W_PT_CHANGES]++;
      this.resolvePayload(slot, pt);
    }
    const kind = u8[hb + B_KIND];
    u8[hb + B_PREV_KIND] = kind;
    if (kind === CN) w[this.cw(slot) + W_CN]++;
    else if (kind === TEV) w[this.cw(slot) + W_TEV]++;

    // ---- Wireshark delta / jitter / skew ----
    const clock = w[hw + W_CLOCK];
    const div = this.divisor(clock, kind);
    const delta = t - prevMs;
    let jitter = f[hf + D_WS_JIT];
    if (div > 0) {
      const nominal = sinceFirst / div;
      const expected = prevMs + (nominal - f[hf + D_LAST_NOM]);
      jitter = (15 * jitter + Math.abs(t - expected)) / 16;
      f[hf + D_WS_JIT] = jitter;
      f[hf + D_LAST_NOM] = nominal;
      const skew = nominal - (t - f[hf + D_FIRST_MS]);
      f[hf + D_SKEW] = skew;
      if (Math.abs(skew) > Math.abs(f[hf + D_I_MAXSK])) f[hf + D_I_MAXSK] = skew;
      if (!wrongTs && kind !== TEV) {
        // Least-squares sums of (arrival ms, exact nominal ms) since the first packet, for clock drift.
        const x = t - f[hf + D_FIRST_MS];
        const y = (sinceFirst * 1000) / clock;
        w[hw + W_LS_N]++;
        f[hf + D_LS_X] += x;
        f[hf + D_LS_Y] += y;
        f[hf + D_LS_XX] += x * x;
        f[hf + D_LS_XY] += x * y;
      }
    }
    f[hf + D_WS_DELTA] = delta;
    // Excluded from min/mean/max (but still in the jitter recursion): marker, comfort noise, the packet
    // after comfort noise, timestamp older than the first packet's. Min/max are kept for the interval
    // only; the cumulative ones combine them with those of the earlier intervals (resetInterval).
    if (marker === 0 && kind !== CN && prevKind !== CN && !wrongTs) {
      // Wireshark's running means divide by the number of packets before this one, excluded ones too.
      f[hf + D_MEAND] = (f[hf + D_MEAND] * (before - 1) + delta) / before;
      w[hw + W_NINC]++;
      f[hf + D_SUMD] += delta;
      if (delta > f[hf + D_I_MAXD]) f[hf + D_I_MAXD] = delta;
      if (delta < f[hf + D_I_MIND]) f[hf + D_I_MIND] = delta;
      f[hf + D_I_SUMD] += delta;
      if (div > 0) {
        f[hf + D_MEANJ] = (f[hf + D_MEANJ] * (before - 1) + jitter) / before;
        w[hw + W_NINCJ]++;
        if (jitter > f[hf + D_I_MAXJ]) f[hf + D_I_MAXJ] = jitter;
        if (jitter < f[hf + D_I_MINJ]) f[hf + D_I_MINJ] = jitter;
        f[hf + D_I_SUMJ] += jitter;
      }
    }
    this.a8(hw, hf, hb, t, ts);
    this.rfcSequence(slot, hw, hh, seq);
  }

  /** RFC 3550 A.8 interarrival jitter in timestamp units, with the exact clock and 32-bit timestamp wrap. */
  private a8(hw: number, hf: number, hb: number, t: number, ts: number): void {
    const u8 = this.u8;
    if (u8[hb + B_KIND] === TEV) return;
    const f = this.f;
    const w = this.w;
    if (u8[hb + B_A8_VALID] !== 0) {
      const d = ((t - f[hf + D_A8_PREV_MS]) * w[hw + W_CLOCK]) / 1000 - ((ts - w[hw + W_A8_PREV_TS]) | 0);
      const j = f[hf + D_A8_J];
      f[hf + D_A8_J] = j + (Math.abs(d) - j) / 16;
    }
    f[hf + D_A8_PREV_MS] = t;
    w[hw + W_A8_PREV_TS] = ts;
    u8[hb + B_A8_VALID] = 1;
  }

  /** RFC 3550 A.1 validation plus the reorder window (duplicates, out-of-order, final loss states). */
  private rfcSequence(slot: number, hw: number, hh: number, seq: number): void {
    const w = this.w;
    const h16 = this.h16;
    const maxSeq = h16[hh + H_MAX_SEQ];
    const udelta = (seq - maxSeq) & 0xffff;
    const cycles = w[hw + W_CYCLES];
    const maxExt = cycles + maxSeq;
    if (udelta === 0) {
      w[this.cw(slot) + W_DU]++;
    } else if (udelta < MAX_DROPOUT) {
      const newCycles = seq < maxSeq ? cycles + SEQ_MOD : cycles;
      w[hw + W_CYCLES] = newCycles;
      h16[hh + H_MAX_SEQ] = seq;
      w[hw + W_BAD_SEQ] = -1;
      const newMax = newCycles + seq;
      if (w[hw + W_FIN_EXT] <= newMax - WIN) this.finalizeUpTo(slot, newMax - WIN);
      w[hw + W_WIN + ((newMax >> 5) & 3)] |= 1 << (newMax & 31);
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      // A big jump: believe it (a restart) only when the next packet follows it (RFC 3550 A.1 bad_seq).
      if (seq === w[hw + W_BAD_SEQ]) {
        // Close the old segment: its expected count is kept, its window is flushed to the loss model.
        this.finalizeUpTo(slot, maxExt);
        // The new segment starts at the packet that announced the jump, so both count as expected.
        const base = SEQ_MOD + ((seq - 1) & 0xffff);
        const cw = this.cw(slot);
        // expected = cycles + max_seq - EXP_OFF + 1 keeps the closed segment's maxExt - oldBase + 1.
        w[cw + W_EXP_OFF] += base - maxExt - 1;
        w[hw + W_CYCLES] = seq === 0 ? 2 * SEQ_MOD : SEQ_MOD;
        h16[hh + H_MAX_SEQ] = seq;
        w[hw + W_FIN_EXT] = base;
        w[hw + W_BAD_SEQ] = -1;
        w[hw + W_WIN] = 0; w[hw + W_WIN + 1] = 0; w[hw + W_WIN + 2] = 0; w[hw + W_WIN + 3] = 0;
        w[hw + W_WIN + ((base >> 5) & 3)] |= 1 << (base & 31);
        w[hw + W_WIN + (((base + 1) >> 5) & 3)] |= 1 << ((base + 1) & 31);
      } else {
        w[hw + W_BAD_SEQ] = (seq + 1) & 0xffff;
      }
    } else {
      // Behind the highest sequence number: a duplicate if already seen inside the window, else late.
      const ext = maxExt - ((maxSeq - seq) & 0xffff);
      const cw = this.cw(slot);
      if (ext > maxExt - WIN && ext >= w[hw + W_FIN_EXT]) {
        const wi = hw + W_WIN + ((ext >> 5) & 3);
        const bit = 1 << (ext & 31);
        if ((w[wi] & bit) !== 0) {
          w[cw + W_DU]++;
        } else {
          w[wi] |= bit;
          w[cw + W_OO]++;
        }
      } else {
        w[cw + W_OO]++;
      }
    }
  }

  /** Feed final received/lost states of extended numbers up to `last` into the loss model. */
  private finalizeUpTo(slot: number, last: number): void {
    const w = this.w;
    const hw = slot * HOT_W;
    const hb = slot * HOT_BYTES;
    const cw = this.cw(slot);
    let e = w[hw + W_FIN_EXT];
    for (; e <= last; e++) {
      const wi = hw + W_WIN + ((e >> 5) & 3);
      const bit = 1 << (e & 31);
      lossFeed(w, this.u8, hw, hb, cw, (w[wi] & bit) !== 0);
      w[wi] &= ~bit;
    }
    if (e > w[hw + W_FIN_EXT]) w[hw + W_FIN_EXT] = e;
  }

  /** RFC 3550 A.3 expected count since the stream started (all segments). */
  private rfcExpected(slot: number): number {
    const hw = slot * HOT_W;
    return this.w[hw + W_CYCLES] + this.h16[slot * HOT_H + H_MAX_SEQ] - this.w[this.cw(slot) + W_EXP_OFF] + 1;
  }

  /** Loss model as if the stream ended now (window contents taken as final), into the scratch record. */
  private resolvedLoss(slot: number): void {
    const w = this.w;
    const x = this.maxStreams; // the scratch record
    const xw = x * HOT_W;
    const xb = x * HOT_BYTES;
    const xc = this.cw(x);
    const hw = slot * HOT_W;
    lossCopy(w, this.u8, hw, slot * HOT_BYTES, this.cw(slot), xw, xb, xc);
    const maxExt = w[hw + W_CYCLES] + this.h16[slot * HOT_H + H_MAX_SEQ];
    for (let e = w[hw + W_FIN_EXT]; e <= maxExt; e++) {
      lossFeed(w, this.u8, xw, xb, xc, (w[hw + W_WIN + ((e >> 5) & 3)] & (1 << (e & 31))) !== 0);
    }
    lossResolve(w, xw, xc);
  }

  /** Fill `out` with the stream's state. Report time only: formats addresses (allocates strings). */
  snapshot(slot: number, out: StreamSnapshot): void {
    this.drain();
    const f = this.f;
    const w = this.w;
    const u8 = this.u8;
    const hf = slot * HOT_D;
    const hw = slot * HOT_W;
    const hb = slot * HOT_BYTES;
    const hh = slot * HOT_H;
    const cw = this.cw(slot);
    const cb = this.coldB0 + slot * COLD_BYTES;
    const flags = u8[hb + B_FLAGS];
    const v = (flags & FLAG_IPV6) !== 0 ? 6 : 4;
    out.slot = slot;
    out.ssrc = this.keyWord(slot, 9);
    out.ipVersion = v;
    out.srcIp = formatIp(v, this.keyWord(slot, 0), this.keyWord(slot, 1), this.keyWord(slot, 2), this.keyWord(slot, 3));
    out.dstIp = formatIp(v, this.keyWord(slot, 4), this.keyWord(slot, 5), this.keyWord(slot, 6), this.keyWord(slot, 7));
    out.srcPort = this.keyWord(slot, 8) >>> 16;
    out.dstPort = this.keyWord(slot, 8) & 0xffff;
    const hasMac = (flags & FLAG_HAS_MAC) !== 0;
    out.srcMac = hasMac ? formatMac(u8, cb + B_MACS) : '';
    out.dstMac = hasMac ? formatMac(u8, cb + B_MACS + 6) : '';
    out.vlan = this.h16[this.coldH0 + slot * (COLD_BYTES >> 1) + H_VLAN1] - 1;
    const clock = w[hw + W_CLOCK];
    out.payloadType = u8[hb + B_PT];
    out.clockRate = clock;
    out.jitterMs = clock > 0 ? (f[hf + D_A8_J] * 1000) / clock : 0;
    out.skewMs = f[hf + D_SKEW];
    out.clockDriftPpm = this.driftPpm(hw, hf);
    out.ssrcChanges = w[cw + W_SSRC_CHANGES];
    out.payloadTypeChanges = w[cw + W_PT_CHANGES];
    out.markers = w[hw + W_MARKERS];
    out.comfortNoise = w[cw + W_CN];
    out.telephoneEvents = w[cw + W_TEV];
    out.hostTimestamps = (flags & FLAG_HOST_TS) !== 0;
    const epochMs = this.epochSec * 1000;
    out.firstSeenMs = epochMs + f[hf + D_FIRST_MS];
    out.lastSeenMs = epochMs + f[hf + D_LAST_MS];
    out.wiresharkJitterMs = f[hf + D_WS_JIT];
    out.wiresharkDeltaMs = f[hf + D_WS_DELTA];
    const h16 = this.h16;
    const wsCycles = h16[this.coldH0 + slot * (COLD_BYTES >> 1) + H_WS_CYCLES];
    const wsExpected = h16[hh + H_STOP_SEQ] + wsCycles * SEQ_MOD - h16[hh + H_FIRST_SEQ] + 1;
    out.wiresharkExpected = wsExpected;
    out.wiresharkLost = wsExpected - w[hw + W_PK];

    this.resolvedLoss(slot);
    const expected = this.rfcExpected(slot);
    const packetMs = this.packetMs(slot);
    this.fillCounters(slot, out.cumulative, expected, epochMs, true);
    const x = this.maxStreams;
    lossMetrics(w, u8, x * HOT_BYTES, this.cw(x), expected, hb, cw, 0, packetMs, this.lossOut);
    copyLoss(this.lossOut, out.cumulative);
    const prior = w[cw + W_EXP_PRIOR];
    this.fillCounters(slot, out.interval, expected - prior, epochMs, false);
    lossMetrics(w, u8, x * HOT_BYTES, this.cw(x), expected, hb, cw, prior, packetMs, this.lossOut);
    copyLoss(this.lossOut, out.interval);
  }

  private fillCounters(slot: number, o: StreamCounters, expected: number, epochMs: number, cumulative: boolean): void {
    const f = this.f;
    const w = this.w;
    const hf = slot * HOT_D;
    const hw = slot * HOT_W;
    const cw = this.cw(slot);
    const cd = this.cd(slot);
    const bw = cumulative ? 0 : 1; // subtract the interval baselines or not
    const n = w[hw + W_PK] - bw * w[cw + W_B_PK];
    o.packets = n;
    o.bytes = f[hf + D_BY] - (cumulative ? 0 : f[cd + D_BY_BASE]);
    o.expected = expected;
    o.lost = expected - n;
    o.seqErrors = w[cw + W_SE] - bw * w[cw + W_B_SE];
    o.outOfOrder = w[cw + W_OO] - bw * w[cw + W_B_OO];
    o.duplicates = w[cw + W_DU] - bw * w[cw + W_B_DU];
    const ninc = w[hw + W_NINC] - bw * w[cw + W_B_NINC];
    const nincj = w[hw + W_NINCJ] - bw * w[cw + W_B_NINCJ];
    let minD = f[hf + D_I_MIND];
    let maxD = f[hf + D_I_MAXD];
    let minJ = f[hf + D_I_MINJ];
    let maxJ = f[hf + D_I_MAXJ];
    let maxSk = f[hf + D_I_MAXSK];
    if (cumulative) {
      // Earlier intervals first: a later value replaces the max |skew| only when strictly larger.
      if (f[cd + D_C_MIND] < minD) minD = f[cd + D_C_MIND];
      if (f[cd + D_C_MAXD] > maxD) maxD = f[cd + D_C_MAXD];
      if (f[cd + D_C_MINJ] < minJ) minJ = f[cd + D_C_MINJ];
      if (f[cd + D_C_MAXJ] > maxJ) maxJ = f[cd + D_C_MAXJ];
      if (!(Math.abs(maxSk) > Math.abs(f[cd + D_C_MAXSK]))) maxSk = f[cd + D_C_MAXSK];
    }
    o.minDeltaMs = ninc > 0 ? minD : 0;
    o.maxDeltaMs = maxD;
    o.minJitterMs = nincj > 0 ? minJ : 0;
    o.maxJitterMs = maxJ;
    if (cumulative) {
      o.meanDeltaMs = f[hf + D_MEAND];
      o.meanJitterMs = f[hf + D_MEANJ];
    } else {
      o.meanDeltaMs = ninc > 0 ? f[hf + D_I_SUMD] / ninc : 0;
      o.meanJitterMs = nincj > 0 ? f[hf + D_I_SUMJ] / nincj : 0;
    }
    o.maxSkewMs = maxSk;
    o.startMs = n > 0 ? epochMs + (cumulative ? f[hf + D_FIRST_MS] : f[hf + D_I_START]) : 0;
    o.endMs = n > 0 ? epochMs + f[hf + D_LAST_MS] : 0;
  }

  /** Mean packet spacing for converting loss-run lengths to durations. */
  private packetMs(slot: number): number {
    const n = this.w[slot * HOT_W + W_NINC];
    return n > 0 ? this.f[slot * HOT_D + D_SUMD] / n : 20;
  }

  private driftPpm(hw: number, hf: number): number {
    const f = this.f;
    const n = this.w[hw + W_LS_N];
    if (n < 2) return 0;
    const sx = f[hf + D_LS_X];
    const den = n * f[hf + D_LS_XX] - sx * sx;
    if (!(den > 0)) return 0;
    const slope = (n * f[hf + D_LS_XY] - sx * f[hf + D_LS_Y]) / den;
    return (slope - 1) * 1e6;
  }

  /** Start a new report interval for `slot` (call right after reading its snapshot). */
  resetInterval(slot: number): void {
    this.drain();
    const f = this.f;
    const w = this.w;
    const hf = slot * HOT_D;
    const hw = slot * HOT_W;
    const cw = this.cw(slot);
    const cd = this.cd(slot);
    // Fold the ending interval's min/max into the earlier intervals'.
    if (f[hf + D_I_MIND] < f[cd + D_C_MIND]) f[cd + D_C_MIND] = f[hf + D_I_MIND];
    if (f[hf + D_I_MAXD] > f[cd + D_C_MAXD]) f[cd + D_C_MAXD] = f[hf + D_I_MAXD];
    if (f[hf + D_I_MINJ] < f[cd + D_C_MINJ]) f[cd + D_C_MINJ] = f[hf + D_I_MINJ];
    if (f[hf + D_I_MAXJ] > f[cd + D_C_MAXJ]) f[cd + D_C_MAXJ] = f[hf + D_I_MAXJ];
    if (Math.abs(f[hf + D_I_MAXSK]) > Math.abs(f[cd + D_C_MAXSK])) f[cd + D_C_MAXSK] = f[hf + D_I_MAXSK];
    f[hf + D_I_MIND] = Infinity;
    f[hf + D_I_MAXD] = 0;
    f[hf + D_I_MINJ] = Infinity;
    f[hf + D_I_MAXJ] = 0;
    f[hf + D_I_MAXSK] = 0;
    f[hf + D_I_SUMD] = 0;
    f[hf + D_I_SUMJ] = 0;
    f[hf + D_I_START] = NaN;
    f[cd + D_BY_BASE] = f[hf + D_BY];
    w[cw + W_EXP_PRIOR] = this.rfcExpected(slot);
    w[cw + W_B_PK] = w[hw + W_PK];
    w[cw + W_B_SE] = w[cw + W_SE];
    w[cw + W_B_OO] = w[cw + W_OO];
    w[cw + W_B_DU] = w[cw + W_DU];
    w[cw + W_B_NINC] = w[hw + W_NINC];
    w[cw + W_B_NINCJ] = w[hw + W_NINCJ];
    this.resolvedLoss(slot);
    const x = this.maxStreams;
    lossSetBase(w, this.u8, x * HOT_BYTES, this.cw(x), slot * HOT_BYTES, cw);
  }

  /** End a stream (RTCP BYE, SIP BYE, shutdown...): onStreamEnd once, then the slot is freed. */
  endStream(slot: number, reason: number): boolean {
    this.drain();
    if (!this.isActive(slot)) return false;
    // Out of the active part of slotList first (isActive false from here, as before the hook).
    const pos = this.slotPos[slot];
    const lastPos = --this.activeCount;
    const last = this.slotList[lastPos];
    this.slotList[pos] = last;
    this.slotPos[last] = pos;
    this.slotList[lastPos] = slot;
    this.slotPos[slot] = lastPos;
    this.generation++;
    const hk = this.hooks.onStreamEnd;
    if (hk !== undefined) hk(slot, reason);
    this.streams.remove(slot);
    const hb = slot * HOT_BYTES;
    if ((this.u8[hb + B_FLAGS] & FLAG_IN_TUPLES) !== 0) {
      this.tuples.remove(slot);
      this.u8[hb + B_FLAGS] &= ~FLAG_IN_TUPLES;
    }
    this.w[this.cw(slot) + W_CALLREF] = -1;
    this.counters.streamsEnded++;
    return true;
  }

  /** End every stream silent for silenceTimeoutMs at capture time nowMs (ms since the epoch). */
  expire(nowMs: number): number {
    this.drain();
    if (this.epochSec < 0) return 0;
    const limit = nowMs - this.epochSec * 1000 - this.opts.silenceTimeoutMs;
    let ended = 0;
    for (let i = this.activeCount - 1; i >= 0; i--) {
      const s = this.slotList[i];
      if (this.f[s * HOT_D + D_LAST_MS] < limit) {
        this.endStream(s, EndReason.timeout);
        ended++;
      }
    }
    return ended;
  }

  endAll(reason: number): void {
    this.drain();
    for (let i = this.activeCount - 1; i >= 0; i--) this.endStream(this.slotList[i], reason);
  }

  /** Visit active slots; `fn` may end the slot it is given (and only that one). */
  forEachActive(fn: (slot: number) => void): void {
    this.drain();
    for (let i = this.activeCount - 1; i >= 0; i--) fn(this.slotList[i]);
  }
}

function copyLoss(l: LossMetrics, o: StreamCounters): void {
  o.lossP = l.lossP;
  o.lossQ = l.lossQ;
  o.burstR = l.burstR;
  o.burstDensity = l.burstDensity;
  o.gapDensity = l.gapDensity;
  o.burstDurationMs = l.burstDurationMs;
  o.gapDurationMs = l.gapDurationMs;
}
