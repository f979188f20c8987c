/**
 * The RTP stream engine: the hot loop. One call per RTP packet, all state in typed arrays indexed by a
 * stream slot, nothing allocated per packet.
 *
 * Two families of metrics are kept per stream:
 *  - Wireshark's (tshark 4.0 `-z rtp,streams` / RTP Stream Analysis): delta, jitter, skew, sequence
 *    errors, "lost" from first/last sequence number. Reproduced exactly (see wsUpdate) so that numbers
 *    users compare with tshark agree to its printed precision.
 *  - RFC 3550's: A.1 sequence validation (MAX_DROPOUT, MAX_MISORDER, resync after two sequential packets
 *    past a jump), A.3 expected/lost per interval, A.8 interarrival jitter, plus duplicates and
 *    out-of-order from a 128-packet reorder window, and the Gilbert / RFC 3611 loss pattern.
 * Both are kept cumulative and per report interval side by side; a report is a read of the arrays.
 */
import { DecodedPacket } from '../decode/packet.js';
import type { StreamCounters, StreamSnapshot } from './snapshot.js';
import { SlotHash } from './slot-hash.js';
import { CandidateCache } from './candidates.js';
import { rtpHeaderLength, rtpPaddingLength, isRtpCandidate } from './rtp-header.js';
import { PayloadKind, staticClockRate, staticPayloadKind } from './payload-types.js';
import { EndReason } from './reasons.js';
import { LOSS_FIELDS, lossFeed, lossResolve, lossReset, lossCopy, lossMetrics, type LossMetrics } from './loss-model.js';
import { formatIp, formatMac } from './format.js';

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
/** Reorder window for duplicate/out-of-order detection and for finalizing loss states. */
const WIN = 128;
const KEY_WORDS = 10; // src0..3, dst0..3, ports, ssrc
const TUPLE_WORDS = 9;

// Per-stream scalar state, stride NS in `st`.
const F_FIRST_MS = 0;
const F_LAST_MS = 1;
const F_FIRST_TS = 2;
const F_FIRST_SEQ = 3;
const F_STOP_SEQ = 4;
const F_WS_SEQ = 5;
const F_WS_CYCLES = 6;
const F_WS_UNDER = 7;
const F_PREV_MS = 8;
const F_LAST_NOM = 9;
const F_WS_JIT = 10;
const F_WS_DELTA = 11;
const F_SKEW = 12;
const F_PT = 13;
const F_CLOCK = 14;
const F_KIND = 15;
const F_WS_TOTAL = 16;
const F_MAX_SEQ = 17;
const F_CYCLES = 18;
const F_BASE_EXT = 19;
const F_BAD_SEQ = 20;
const F_EXP_ACC = 21;
const F_EXP_PRIOR = 22;
const F_RECV_PRIOR = 23;
const F_A8_J = 24;
const F_A8_PREV_MS = 25;
const F_A8_PREV_TS = 26;
const F_A8_VALID = 27;
const F_LS_N = 28;
const F_LS_X = 29;
const F_LS_Y = 30;
const F_LS_XX = 31;
const F_LS_XY = 32;
const F_FIN_EXT = 33;
const F_SSRC_CHANGES = 34;
const F_PT_CHANGES = 35;
const F_MARKERS = 36;
const F_CN = 37;
const F_TEV = 38;
const F_DIV = 39;
const F_PREV_KIND = 40;
const NS = 41;

// Counter set fields, stride NC; cumulative set at slot*2*NC, interval set right after it.
const C_PK = 0;
const C_BY = 1;
const C_SE = 2;
const C_OO = 3;
const C_DU = 4;
const C_MIND = 5;
const C_MEAND = 6;
const C_MAXD = 7;
const C_MINJ = 8;
const C_MEANJ = 9;
const C_MAXJ = 10;
const C_MAXSK = 11;
const C_NINC = 12;
const C_SUMD = 13;
const C_SUMJ = 14;
const C_START = 15;
const C_END = 16;
const C_NINCJ = 17;
const NC = 18;

const DEFAULT_HEURISTIC: RtpHeuristicOptions = {
  minConsecutive: 2, // RFC 3550 A.1 MIN_SEQUENTIAL
  requireEvenPort: false,
  allowedPayloadTypes: [[0, 34], [96, 127]],
  minPort: 1024,
  candidateSlots: 4096,
};

/**
 * The (5-tuple, SSRC) -> slot index every packet probes. Same scheme as SlotHash (linear probing,
 * backward-shift deletion) but specialised for the 10-word key and fed from locals (no scratch-key
 * stores, no loops over the words), with a cheaper hash (hashStreamKey).
 */
class StreamIndex {
  /** Key words as int32 (same bits as the uint32 words): comparisons and hashing stay in 32-bit registers. */
  readonly keys: Int32Array;
  readonly hashes: Int32Array;
  private readonly table: Int32Array;
  private readonly mask: number;

  constructor(slots: number) {
    this.keys = new Int32Array(slots * KEY_WORDS);
    this.hashes = new Int32Array(slots);
    let size = 16;
    while (size < slots * 2) size <<= 1; // load factor <= 0.5
    this.table = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  get byteSize(): number {
    return this.keys.byteLength + this.hashes.byteLength + this.table.byteLength;
  }

  /** Slot of the key (words passed as int32: `x | 0`), or -1. */
  find(h: number, k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number): number {
    const t = this.table;
    const hs = this.hashes;
    const ks = this.keys;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = t[i];
      if (s < 0) return -1;
      if (hs[s] === h) {
        const b = s * KEY_WORDS;
        // Most distinctive words first: SSRC, ports, the low address words.
        if (ks[b + 9] === k9 && ks[b + 8] === k8 && ks[b + 3] === k3 && ks[b + 7] === k7 && ks[b] === k0 && ks[b + 1] === k1 &&
          ks[b + 2] === k2 && ks[b + 4] === k4 && ks[b + 5] === k5 && ks[b + 6] === k6) return s;
      }
      i = (i + 1) & mask;
    }
  }

  /** Store `key` (10 words) for `slot`, which must not be present. */
  insert(slot: number, h: number, key: Uint32Array): void {
    const b = slot * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) this.keys[b + w] = key[w] | 0;
    this.hashes[slot] = h;
    const t = this.table;
    let i = h & this.mask;
    while (t[i] >= 0) i = (i + 1) & this.mask;
    t[i] = slot;
  }

  remove(slot: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = this.hashes[slot] & mask;
    for (;;) {
      const s = t[i];
      if (s < 0) return;
      if (s === slot) break;
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = t[j];
      if (s < 0) break;
      const home = this.hashes[s] & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        t[i] = s;
        i = j;
      }
    }
    t[i] = -1;
  }

  word(slot: number, i: number): number {
    return this.keys[slot * KEY_WORDS + i] >>> 0;
  }
}

/**
 * Hash of the 10-word stream key. Each word gets its own odd multiplier and the products are XORed, so
 * the multiplications are independent (instruction-level parallelism) instead of one serial murmur chain
 * per word; the murmur3 finalizer then spreads the bits to the low ones the table index uses. Measured:
 * the serial chain alone cost about 25 ns per packet here. Not keyed: like any unseeded hash, crafted
 * keys can collide (bounded by the table's load factor of 0.5 and linear probing).
 * native-bench/rtpbench.c uses the same function.
 */
function hashStreamKey(k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number): number {
  let h =
    Math.imul(k9, 0x9e3779b1) ^ Math.imul(k8, 0x85ebca77) ^ Math.imul(k3, 0xc2b2ae3d) ^ Math.imul(k7, 0x27d4eb2f) ^
    Math.imul(k2 ^ ((k6 << 16) | (k6 >>> 16)), 0x165667b1) ^ Math.imul(k1 ^ ((k5 << 16) | (k5 >>> 16)), 0xd3a2646d) ^
    Math.imul(k0 ^ ((k4 << 16) | (k4 >>> 16)), 0xfd7046c5);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x7fffffff; // non-negative int32: compared with the Int32Array of hashes without float conversion
}

export class RtpEngine {
  readonly counters = new RtpEngineCounters();
  readonly maxStreams: number;
  hooks: RtpEngineHooks;
  private readonly opts: RtpEngineOptions;
  private readonly heur: RtpHeuristicOptions;
  private readonly ptAllowed = new Uint8Array(128);

  private readonly streams: StreamIndex;
  /** Key of the packet that starts a stream (filled on a lookup miss only). */
  private readonly newKey = new Uint32Array(KEY_WORDS);
  private readonly tuples: SlotHash;
  private readonly st: Float64Array;
  private readonly cs: Float64Array;
  private readonly loss: Float64Array;
  private readonly lossBase: Float64Array;
  private readonly lossScratch = new Float64Array(LOSS_FIELDS);
  private readonly lossZero = new Float64Array(LOSS_FIELDS);
  private readonly lossOut: LossMetrics = { lossP: 0, lossQ: 0, burstR: 1, burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0 };
  private readonly ring: Uint8Array;
  private readonly active: Uint8Array;
  private readonly inTuples: Uint8Array;
  private readonly ipVer: Uint8Array;
  private readonly hostTs: Uint8Array;
  private readonly vlan: Int32Array;
  private readonly macs: Uint8Array;
  private readonly hasMac: Uint8Array;
  private readonly callRefs: Int32Array;
  private readonly freeList: Int32Array;
  private freeCount: number;
  /** Dense list of active slots and each slot's position in it (O(1) removal). */
  private readonly activeList: Int32Array;
  private readonly activePos: Int32Array;
  private activeCount = 0;

  // Candidate cache for unsignalled streams: direct-mapped by key hash.
  private readonly cands: CandidateCache;

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
    this.streams = new StreamIndex(n);
    this.tuples = new SlotHash(n, TUPLE_WORDS);
    this.st = new Float64Array(n * NS);
    this.cs = new Float64Array(n * 2 * NC);
    this.loss = new Float64Array(n * LOSS_FIELDS);
    this.lossBase = new Float64Array(n * LOSS_FIELDS);
    this.ring = new Uint8Array(n * WIN);
    this.active = new Uint8Array(n);
    this.inTuples = new Uint8Array(n);
    this.ipVer = new Uint8Array(n);
    this.hostTs = new Uint8Array(n);
    this.vlan = new Int32Array(n);
    this.macs = new Uint8Array(n * 12);
    this.hasMac = new Uint8Array(n);
    this.callRefs = new Int32Array(n).fill(-1);
    this.freeList = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeList[i] = n - 1 - i; // pop gives slot 0 first
    this.freeCount = n;
    this.activeList = new Int32Array(n);
    this.activePos = new Int32Array(n).fill(-1);
    this.cands = new CandidateCache(this.heur.candidateSlots, KEY_WORDS);
  }

  /** Bytes of typed-array state (for the memory-per-stream figure). */
  get stateBytes(): number {
    return (
      this.streams.byteSize + this.newKey.byteLength + this.tuples.byteSize + this.st.byteLength + this.cs.byteLength + this.loss.byteLength +
      this.lossBase.byteLength + this.ring.byteLength + this.active.byteLength + this.inTuples.byteLength +
      this.ipVer.byteLength + this.hostTs.byteLength + this.vlan.byteLength + this.macs.byteLength + this.hasMac.byteLength +
      this.callRefs.byteLength + this.freeList.byteLength + this.activeList.byteLength + this.activePos.byteLength +
      this.cands.byteSize
    );
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
    this.callRefs[slot] = ref;
  }

  callRef(slot: number): number {
    return this.callRefs[slot];
  }

  isActive(slot: number): boolean {
    return slot >= 0 && slot < this.maxStreams && this.active[slot] === 1;
  }

  ssrc(slot: number): number {
    return this.streams.word(slot, 9);
  }
  srcPort(slot: number): number {
    return this.streams.word(slot, 8) >>> 16;
  }
  dstPort(slot: number): number {
    return this.streams.word(slot, 8) & 0xffff;
  }
  /** Word i (0..3) of the source (or destination) address, IPv4 as ::ffff:a.b.c.d. */
  srcAddrWord(slot: number, i: number): number {
    return this.streams.word(slot, i);
  }
  dstAddrWord(slot: number, i: number): number {
    return this.streams.word(slot, 4 + i);
  }
  payloadType(slot: number): number {
    return this.st[slot * NS + F_PT];
  }
  /** Wireshark's per-packet values after the latest packet (what sharkd's analysis lists): delta, jitter, skew in ms. */
  lastDeltaMs(slot: number): number {
    return this.st[slot * NS + F_WS_DELTA];
  }
  wiresharkJitterMs(slot: number): number {
    return this.st[slot * NS + F_WS_JIT];
  }
  skewMs(slot: number): number {
    return this.st[slot * NS + F_SKEW];
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
    if (len < 12 || b[off] >> 6 !== 2) {
      this.counters.notRtp++;
      return -1;
    }
    const pt = b[off + 1] & 0x7f;
    if (pt >= 72 && pt <= 95) {
      this.counters.notRtp++; // RTCP multiplexed on the RTP port
      return -1;
    }
    const hdr = rtpHeaderLength(b, off, len);
    if (hdr < 0) {
      this.counters.malformed++;
      return -1;
    }
    const payloadBytes = len - hdr - rtpPaddingLength(b, off, len);
    const marker = b[off + 1] >> 7;
    const seq = (b[off + 2] << 8) | b[off + 3];
    const ts = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
    const ssrc = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;

    if (this.epochSec < 0) this.epochSec = pkt.tsSec;
    const t = (pkt.tsSec - this.epochSec) * 1000 + pkt.tsNsec / 1e6;
    if (t > this.nowRelMs) this.nowRelMs = t;

    const k0 = pkt.src0 | 0, k1 = pkt.src1 | 0, k2 = pkt.src2 | 0, k3 = pkt.src3 | 0;
    const k4 = pkt.dst0 | 0, k5 = pkt.dst1 | 0, k6 = pkt.dst2 | 0, k7 = pkt.dst3 | 0;
    const k8 = (pkt.srcPort << 16) | pkt.dstPort;
    const k9 = ssrc | 0;
    const h = hashStreamKey(k0, k1, k2, k3, k4, k5, k6, k7, k8, k9);
    let slot = this.streams.find(h, k0, k1, k2, k3, k4, k5, k6, k7, k8, k9);
    if (slot < 0) {
      const k = this.newKey;
      k[0] = k0; k[1] = k1; k[2] = k2; k[3] = k3; k[4] = k4; k[5] = k5; k[6] = k6; k[7] = k7; k[8] = k8; k[9] = k9;
      // A candidate entry holds the packets seen before the stream counted (heuristic probation, or
      // packets that came before their SDP binding was known): they are fed first, in arrival order.
      let cand: number;
      if (!signalled) {
        cand = this.promote(h, pt, seq, ts, t, marker, payloadBytes, pkt.srcPort, pkt.dstPort);
        if (cand < 0) return -1;
      } else {
        cand = this.adoptCandidate(h, pt, seq, ts, t, marker, payloadBytes);
      }
      slot = this.startStream(h, pkt, frameBuf === undefined ? b : frameBuf, t);
      if (cand >= 0) {
        this.replayCandidate(slot, cand);
      } else {
        this.counters.packets++;
        this.firstPacket(slot, t, seq, ts, pt, marker, payloadBytes);
      }
      return slot;
    }
    this.counters.packets++;
    this.nextPacket(slot, t, seq, ts, pt, marker, payloadBytes);
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

  private startStream(h: number, pkt: DecodedPacket, frameBuf: Uint8Array, t: number): number {
    if (this.freeCount === 0) this.evictIdlest();
    const slot = this.freeList[--this.freeCount];
    this.streams.insert(slot, h, this.newKey);
    this.active[slot] = 1;
    this.activePos[slot] = this.activeCount;
    this.activeList[this.activeCount++] = slot;
    this.ipVer[slot] = pkt.ipVersion;
    this.vlan[slot] = pkt.vlan;
    this.hostTs[slot] = this.hostTimestamps ? 1 : 0;
    this.callRefs[slot] = -1;
    const mo = pkt.srcMacOffset;
    const md = pkt.dstMacOffset;
    if (mo >= 0 && md >= 0 && mo + 6 <= frameBuf.length && md + 6 <= frameBuf.length) {
      for (let i = 0; i < 6; i++) {
        this.macs[slot * 12 + i] = frameBuf[mo + i];
        this.macs[slot * 12 + 6 + i] = frameBuf[md + i];
      }
      this.hasMac[slot] = 1;
    } else {
      this.hasMac[slot] = 0;
    }
    // Zero all state, then note SSRC changes on this 5-tuple.
    const sb = slot * NS;
    for (let i = 0; i < NS; i++) this.st[sb + i] = 0;
    const cb = slot * 2 * NC;
    for (let i = 0; i < 2 * NC; i++) this.cs[cb + i] = 0;
    lossReset(this.loss, slot * LOSS_FIELDS);
    lossReset(this.lossBase, slot * LOSS_FIELDS);
    const rb = slot * WIN;
    for (let i = 0; i < WIN; i++) this.ring[rb + i] = 0;

    const tk = this.tuples.key;
    const sk = this.newKey;
    for (let i = 0; i < TUPLE_WORDS; i++) tk[i] = sk[i];
    const th = this.tuples.hash();
    const prev = this.tuples.find(th);
    if (prev >= 0) {
      this.st[sb + F_SSRC_CHANGES] = this.st[prev * NS + F_SSRC_CHANGES] + 1;
      this.counters.ssrcChanges++;
      this.tuples.remove(prev);
      this.inTuples[prev] = 0;
      if (this.opts.endOnSsrcChange) this.endStream(prev, EndReason.ssrcChange);
    }
    this.tuples.insert(slot, th);
    this.inTuples[slot] = 1;
    this.counters.streamsStarted++;
    const hk = this.hooks.onStreamStart;
    if (hk !== undefined) hk(slot);
    return slot;
  }

  private evictIdlest(): void {
    let best = -1;
    let bestMs = Infinity;
    for (let i = 0; i < this.activeCount; i++) {
      const s = this.activeList[i];
      const last = this.st[s * NS + F_LAST_MS];
      if (last < bestMs) { bestMs = last; best = s; }
    }
    this.counters.evicted++;
    this.endStream(best, EndReason.evicted);
  }

  /** Clock and kind of a new payload type (rare: stream start or PT change). */
  private resolvePayload(slot: number, pt: number): void {
    const sb = slot * NS;
    const hk = this.hooks;
    let clock = hk.resolveClock !== undefined ? hk.resolveClock(slot, pt) : 0;
    if (!(clock > 0)) clock = staticClockRate(pt);
    if (!(clock > 0)) clock = this.opts.defaultClockRate;
    let kind = hk.resolvePayloadKind !== undefined ? hk.resolvePayloadKind(slot, pt) : -1;
    if (!(kind >= 0)) kind = staticPayloadKind(pt);
    this.st[sb + F_CLOCK] = clock;
    this.st[sb + F_KIND] = kind;
    // Telephone events carry one timestamp per event, not per packet: measured by delta only (as Wireshark).
    let div = this.opts.wiresharkCompatibleClock ? Math.floor(clock / 1000) : clock / 1000;
    if (kind === PayloadKind.telephoneEvent) div = 0;
    this.st[sb + F_DIV] = div;
  }

  private firstPacket(slot: number, t: number, seq: number, ts: number, pt: number, marker: number, bytes: number): void {
    const st = this.st;
    const sb = slot * NS;
    st[sb + F_FIRST_MS] = t;
    st[sb + F_LAST_MS] = t;
    st[sb + F_PREV_MS] = t;
    st[sb + F_FIRST_TS] = ts;
    st[sb + F_FIRST_SEQ] = seq;
    st[sb + F_STOP_SEQ] = seq;
    st[sb + F_WS_SEQ] = seq;
    st[sb + F_WS_TOTAL] = 1;
    st[sb + F_PT] = pt;
    this.resolvePayload(slot, pt);
    const kind = st[sb + F_KIND];
    st[sb + F_PREV_KIND] = kind;
    // RFC 3550 A.1: the heuristic (or signalling) already served as probation, so start valid.
    st[sb + F_MAX_SEQ] = seq;
    st[sb + F_CYCLES] = SEQ_MOD; // extended numbers start one cycle up so a resync to seq 0 stays positive
    st[sb + F_BASE_EXT] = SEQ_MOD + seq;
    st[sb + F_FIN_EXT] = SEQ_MOD + seq;
    st[sb + F_BAD_SEQ] = -1;
    this.ring[slot * WIN + ((SEQ_MOD + seq) & (WIN - 1))] = 1;
    this.a8(slot, sb, t, ts);
    if (marker) st[sb + F_MARKERS]++;
    if (kind === PayloadKind.comfortNoise) st[sb + F_CN]++;
    else if (kind === PayloadKind.telephoneEvent) st[sb + F_TEV]++;
    const cb = slot * 2 * NC;
    this.firstInSet(cb, t, bytes);
    this.firstInSet(cb + NC, t, bytes);
  }

  private firstInSet(c: number, t: number, bytes: number): void {
    const cs = this.cs;
    cs[c + C_PK] = 1;
    cs[c + C_BY] = bytes;
    cs[c + C_START] = t;
    cs[c + C_END] = t;
    cs[c + C_MIND] = Infinity;
    cs[c + C_MINJ] = Infinity;
  }

  private nextPacket(slot: number, t: number, seq: number, ts: number, pt: number, marker: number, bytes: number): void {
    const st = this.st;
    const cs = this.cs;
    const sb = slot * NS;
    const cc = slot * 2 * NC; // cumulative set
    const ci = cc + NC; // interval set
    st[sb + F_LAST_MS] = t;
    if (cs[ci + C_PK] === 0) { cs[ci + C_START] = t; cs[ci + C_MIND] = Infinity; cs[ci + C_MINJ] = Infinity; }
    cs[cc + C_PK]++; cs[ci + C_PK]++;
    cs[cc + C_BY] += bytes; cs[ci + C_BY] += bytes;
    cs[cc + C_END] = t; cs[ci + C_END] = t;
    if (marker) st[sb + F_MARKERS]++;

    // ---- Wireshark sequence bookkeeping (cycles for its "expected", sequence errors) ----
    const firstTs = st[sb + F_FIRST_TS];
    const wrongTs = ((ts - firstTs) >>> 0) >= 0x80000000; // timestamp older than the first packet's
    const firstSeq = st[sb + F_FIRST_SEQ];
    if (seq < firstSeq && st[sb + F_WS_UNDER] === 0) {
      st[sb + F_WS_CYCLES]++;
      st[sb + F_WS_UNDER] = 1;
    } else if (seq === 0 && st[sb + F_STOP_SEQ] === 65535 && st[sb + F_WS_UNDER] === 0) {
      st[sb + F_WS_CYCLES]++;
      st[sb + F_WS_UNDER] = 1;
    } else if (seq > firstSeq && st[sb + F_WS_UNDER] !== 0) {
      st[sb + F_WS_UNDER] = 0;
    }
    const wsSeq = st[sb + F_WS_SEQ];
    if (wsSeq + 1 === seq || (wsSeq === 65535 && seq === 0)) {
      st[sb + F_WS_SEQ] = seq;
    } else if (wsSeq + 1 < seq || wsSeq - seq > 0xff00) {
      st[sb + F_WS_SEQ] = seq; // a gap: one error however many packets are missing
      cs[cc + C_SE]++; cs[ci + C_SE]++;
    } else {
      cs[cc + C_SE]++; cs[ci + C_SE]++; // late or duplicate
    }
    st[sb + F_STOP_SEQ] = seq;

    // ---- payload type ----
    const prevKind = st[sb + F_PREV_KIND];
    if (pt !== st[sb + F_PT]) {
      st[sb + F_PT] = pt;
      st[sb + F_PT_CHANGES]++;
      this.resolvePayload(slot, pt);
    }
    const kind = st[sb + F_KIND];
    st[sb + F_PREV_KIND] = kind;
    if (kind === PayloadKind.comfortNoise) st[sb + F_CN]++;
    else if (kind === PayloadKind.telephoneEvent) st[sb + F_TEV]++;

    // ---- Wireshark delta / jitter / skew ----
    const div = st[sb + F_DIV];
    const prevMs = st[sb + F_PREV_MS];
    const delta = t - prevMs;
    let jitter = st[sb + F_WS_JIT];
    if (div > 0) {
      const nominal = ((ts - firstTs) >>> 0) / div;
      const expected = prevMs + (nominal - st[sb + F_LAST_NOM]);
      jitter = (15 * jitter + Math.abs(t - expected)) / 16;
      st[sb + F_WS_JIT] = jitter;
      st[sb + F_LAST_NOM] = nominal;
      const skew = nominal - (t - st[sb + F_FIRST_MS]);
      st[sb + F_SKEW] = skew;
      if (Math.abs(skew) > Math.abs(cs[cc + C_MAXSK])) cs[cc + C_MAXSK] = skew;
      if (Math.abs(skew) > Math.abs(cs[ci + C_MAXSK])) cs[ci + C_MAXSK] = skew;
      if (!wrongTs && kind !== PayloadKind.telephoneEvent) this.drift(sb, t, ts, firstTs);
    }
    st[sb + F_WS_DELTA] = delta;
    // Excluded from min/mean/max (but still in the jitter recursion): marker, comfort noise, the packet
    // after comfort noise, timestamp older than the first packet's.
    if (marker === 0 && kind !== PayloadKind.comfortNoise && prevKind !== PayloadKind.comfortNoise && !wrongTs) {
      // Wireshark's running means divide by the number of packets before this one, excluded ones too.
      const before = st[sb + F_WS_TOTAL];
      if (delta > cs[cc + C_MAXD]) cs[cc + C_MAXD] = delta;
      if (delta < cs[cc + C_MIND]) cs[cc + C_MIND] = delta;
      cs[cc + C_MEAND] = (cs[cc + C_MEAND] * (before - 1) + delta) / before;
      cs[cc + C_NINC]++;
      cs[cc + C_SUMD] += delta;
      // Interval: a plain mean over the interval's measured packets.
      if (delta > cs[ci + C_MAXD]) cs[ci + C_MAXD] = delta;
      if (delta < cs[ci + C_MIND]) cs[ci + C_MIND] = delta;
      cs[ci + C_NINC]++;
      cs[ci + C_SUMD] += delta;
      if (div > 0) {
        if (jitter > cs[cc + C_MAXJ]) cs[cc + C_MAXJ] = jitter;
        if (jitter < cs[cc + C_MINJ]) cs[cc + C_MINJ] = jitter;
        cs[cc + C_MEANJ] = (cs[cc + C_MEANJ] * (before - 1) + jitter) / before;
        cs[cc + C_NINCJ]++;
        cs[cc + C_SUMJ] += jitter;
        if (jitter > cs[ci + C_MAXJ]) cs[ci + C_MAXJ] = jitter;
        if (jitter < cs[ci + C_MINJ]) cs[ci + C_MINJ] = jitter;
        cs[ci + C_NINCJ]++;
        cs[ci + C_SUMJ] += jitter;
      }
    }
    st[sb + F_PREV_MS] = t;
    st[sb + F_WS_TOTAL]++;

    this.a8(slot, sb, t, ts);
    this.rfcSequence(slot, sb, cc, ci, seq);
  }

  /** RFC 3550 A.8 interarrival jitter in timestamp units, with the exact clock and 32-bit timestamp wrap. */
  private a8(slot: number, sb: number, t: number, ts: number): void {
    const st = this.st;
    if (st[sb + F_KIND] === PayloadKind.telephoneEvent) return;
    const clock = st[sb + F_CLOCK];
    if (st[sb + F_A8_VALID] !== 0) {
      const d = ((t - st[sb + F_A8_PREV_MS]) * clock) / 1000 - ((ts - st[sb + F_A8_PREV_TS]) | 0);
      const j = st[sb + F_A8_J];
      st[sb + F_A8_J] = j + (Math.abs(d) - j) / 16;
    }
    st[sb + F_A8_PREV_MS] = t;
    st[sb + F_A8_PREV_TS] = ts;
    st[sb + F_A8_VALID] = 1;
    void slot;
  }

  /** Least-squares sums of (arrival ms, exact nominal ms) since the first packet, for clock drift. */
  private drift(sb: number, t: number, ts: number, firstTs: number): void {
    const st = this.st;
    const x = t - st[sb + F_FIRST_MS];
    const y = (((ts - firstTs) >>> 0) * 1000) / st[sb + F_CLOCK];
    st[sb + F_LS_N]++;
    st[sb + F_LS_X] += x;
    st[sb + F_LS_Y] += y;
    st[sb + F_LS_XX] += x * x;
    st[sb + F_LS_XY] += x * y;
  }

  /** RFC 3550 A.1 validation plus the reorder window (duplicates, out-of-order, final loss states). */
  private rfcSequence(slot: number, sb: number, cc: number, ci: number, seq: number): void {
    const st = this.st;
    const cs = this.cs;
    const ring = this.ring;
    const rb = slot * WIN;
    const maxSeq = st[sb + F_MAX_SEQ];
    const udelta = (seq - maxSeq) & 0xffff;
    const maxExt = st[sb + F_CYCLES] + maxSeq;
    if (udelta === 0) {
      cs[cc + C_DU]++; cs[ci + C_DU]++;
    } else if (udelta < MAX_DROPOUT) {
      if (seq < maxSeq) st[sb + F_CYCLES] += SEQ_MOD;
      st[sb + F_MAX_SEQ] = seq;
      st[sb + F_BAD_SEQ] = -1;
      const newMax = st[sb + F_CYCLES] + seq;
      this.finalizeUpTo(slot, sb, newMax - WIN);
      ring[rb + (newMax & (WIN - 1))] = 1;
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      // A big jump: believe it (a restart) only when the next packet follows it (RFC 3550 A.1 bad_seq).
      if (seq === st[sb + F_BAD_SEQ]) {
        // Close the old segment: its expected count is kept, its window is flushed to the loss model.
        this.finalizeUpTo(slot, sb, maxExt);
        st[sb + F_EXP_ACC] += maxExt - st[sb + F_BASE_EXT] + 1;
        // The new segment starts at the packet that announced the jump, so both count as expected.
        const base = SEQ_MOD + ((seq - 1) & 0xffff);
        st[sb + F_CYCLES] = base - ((seq - 1) & 0xffff);
        if (seq === 0) st[sb + F_CYCLES] += SEQ_MOD;
        st[sb + F_MAX_SEQ] = seq;
        st[sb + F_BASE_EXT] = base;
        st[sb + F_FIN_EXT] = base;
        st[sb + F_BAD_SEQ] = -1;
        for (let i = 0; i < WIN; i++) ring[rb + i] = 0;
        ring[rb + (base & (WIN - 1))] = 1;
        ring[rb + ((base + 1) & (WIN - 1))] = 1;
      } else {
        st[sb + F_BAD_SEQ] = (seq + 1) & 0xffff;
      }
    } else {
      // Behind the highest sequence number: a duplicate if already seen inside the window, else late.
      const ext = maxExt - ((maxSeq - seq) & 0xffff);
      if (ext > maxExt - WIN && ext >= st[sb + F_FIN_EXT] && ext >= st[sb + F_BASE_EXT]) {
        const r = rb + (ext & (WIN - 1));
        if (ring[r] !== 0) {
          cs[cc + C_DU]++; cs[ci + C_DU]++;
        } else {
          ring[r] = 1;
          cs[cc + C_OO]++; cs[ci + C_OO]++;
        }
      } else {
        cs[cc + C_OO]++; cs[ci + C_OO]++;
      }
    }
  }

  /** Feed final received/lost states of extended numbers up to `last` into the loss model. */
  private finalizeUpTo(slot: number, sb: number, last: number): void {
    let e = this.st[sb + F_FIN_EXT];
    if (e > last) return;
    const ring = this.ring;
    const rb = slot * WIN;
    const lb = slot * LOSS_FIELDS;
    for (; e <= last; e++) {
      const r = rb + (e & (WIN - 1));
      lossFeed(this.loss, lb, ring[r] !== 0);
      ring[r] = 0;
    }
    this.st[sb + F_FIN_EXT] = e;
  }

  /** Loss model as if the stream ended now (window contents taken as final) into lossScratch. */
  private resolvedLoss(slot: number): void {
    const sc = this.lossScratch;
    lossCopy(this.loss, slot * LOSS_FIELDS, sc, 0);
    const sb = slot * NS;
    const rb = slot * WIN;
    const maxExt = this.st[sb + F_CYCLES] + this.st[sb + F_MAX_SEQ];
    for (let e = this.st[sb + F_FIN_EXT]; e <= maxExt; e++) lossFeed(sc, 0, this.ring[rb + (e & (WIN - 1))] !== 0);
    lossResolve(sc, 0);
  }

  private rfcExpected(sb: number): number {
    const st = this.st;
    return st[sb + F_EXP_ACC] + st[sb + F_CYCLES] + st[sb + F_MAX_SEQ] - st[sb + F_BASE_EXT] + 1;
  }

  /** Fill `out` with the stream's state. Report time only: formats addresses (allocates strings). */
  snapshot(slot: number, out: StreamSnapshot): void {
    const st = this.st;
    const sb = slot * NS;
    const k = this.streams;
    const v = this.ipVer[slot];
    out.slot = slot;
    out.ssrc = k.word(slot, 9);
    out.ipVersion = v;
    out.srcIp = formatIp(v, k.word(slot, 0), k.word(slot, 1), k.word(slot, 2), k.word(slot, 3));
    out.dstIp = formatIp(v, k.word(slot, 4), k.word(slot, 5), k.word(slot, 6), k.word(slot, 7));
    out.srcPort = k.word(slot, 8) >>> 16;
    out.dstPort = k.word(slot, 8) & 0xffff;
    out.srcMac = this.hasMac[slot] ? formatMac(this.macs, slot * 12) : '';
    out.dstMac = this.hasMac[slot] ? formatMac(this.macs, slot * 12 + 6) : '';
    out.vlan = this.vlan[slot];
    out.payloadType = st[sb + F_PT];
    out.clockRate = st[sb + F_CLOCK];
    out.jitterMs = st[sb + F_CLOCK] > 0 ? (st[sb + F_A8_J] * 1000) / st[sb + F_CLOCK] : 0;
    out.skewMs = st[sb + F_SKEW];
    out.clockDriftPpm = this.driftPpm(sb);
    out.ssrcChanges = st[sb + F_SSRC_CHANGES];
    out.payloadTypeChanges = st[sb + F_PT_CHANGES];
    out.markers = st[sb + F_MARKERS];
    out.comfortNoise = st[sb + F_CN];
    out.telephoneEvents = st[sb + F_TEV];
    out.hostTimestamps = this.hostTs[slot] === 1;
    const epochMs = this.epochSec * 1000;
    out.firstSeenMs = epochMs + st[sb + F_FIRST_MS];
    out.lastSeenMs = epochMs + st[sb + F_LAST_MS];
    out.wiresharkJitterMs = st[sb + F_WS_JIT];
    out.wiresharkDeltaMs = st[sb + F_WS_DELTA];
    const wsExpected = st[sb + F_STOP_SEQ] + st[sb + F_WS_CYCLES] * SEQ_MOD - st[sb + F_FIRST_SEQ] + 1;
    out.wiresharkExpected = wsExpected;
    out.wiresharkLost = wsExpected - this.cs[slot * 2 * NC + C_PK];

    this.resolvedLoss(slot);
    const expected = this.rfcExpected(sb);
    const packetMs = this.packetMs(slot);
    this.fillCounters(slot * 2 * NC, out.cumulative, expected, epochMs, true);
    lossMetrics(this.lossScratch, 0, this.lossZero, 0, packetMs, this.lossOut);
    copyLoss(this.lossOut, out.cumulative);
    this.fillCounters(slot * 2 * NC + NC, out.interval, expected - st[sb + F_EXP_PRIOR], epochMs, false);
    out.interval.lost = out.interval.expected - (this.cs[slot * 2 * NC + C_PK] - st[sb + F_RECV_PRIOR]);
    lossMetrics(this.lossScratch, 0, this.lossBase, slot * LOSS_FIELDS, packetMs, this.lossOut);
    copyLoss(this.lossOut, out.interval);
  }

  private fillCounters(c: number, o: StreamCounters, expected: number, epochMs: number, cumulative: boolean): void {
    const cs = this.cs;
    const n = cs[c + C_PK];
    o.packets = n;
    o.bytes = cs[c + C_BY];
    o.expected = expected;
    o.lost = expected - n;
    o.seqErrors = cs[c + C_SE];
    o.outOfOrder = cs[c + C_OO];
    o.duplicates = cs[c + C_DU];
    const ninc = cs[c + C_NINC];
    const nincj = cs[c + C_NINCJ];
    o.minDeltaMs = ninc > 0 ? cs[c + C_MIND] : 0;
    o.maxDeltaMs = cs[c + C_MAXD];
    o.minJitterMs = nincj > 0 ? cs[c + C_MINJ] : 0;
    o.maxJitterMs = cs[c + C_MAXJ];
    if (cumulative) {
      o.meanDeltaMs = cs[c + C_MEAND];
      o.meanJitterMs = cs[c + C_MEANJ];
    } else {
      o.meanDeltaMs = ninc > 0 ? cs[c + C_SUMD] / ninc : 0;
      o.meanJitterMs = nincj > 0 ? cs[c + C_SUMJ] / nincj : 0;
    }
    o.maxSkewMs = cs[c + C_MAXSK];
    o.startMs = n > 0 ? epochMs + cs[c + C_START] : 0;
    o.endMs = n > 0 ? epochMs + cs[c + C_END] : 0;
  }

  /** Mean packet spacing for converting loss-run lengths to durations. */
  private packetMs(slot: number): number {
    const c = slot * 2 * NC;
    const n = this.cs[c + C_NINC];
    return n > 0 ? this.cs[c + C_SUMD] / n : 20;
  }

  private driftPpm(sb: number): number {
    const st = this.st;
    const n = st[sb + F_LS_N];
    if (n < 2) return 0;
    const sx = st[sb + F_LS_X];
    const den = n * st[sb + F_LS_XX] - sx * sx;
    if (!(den > 0)) return 0;
    const slope = (n * st[sb + F_LS_XY] - sx * st[sb + F_LS_Y]) / den;
    return (slope - 1) * 1e6;
  }

  /** Start a new report interval for `slot` (call right after reading its snapshot). */
  resetInterval(slot: number): void {
    const st = this.st;
    const sb = slot * NS;
    const ci = slot * 2 * NC + NC;
    for (let i = 0; i < NC; i++) this.cs[ci + i] = 0;
    st[sb + F_EXP_PRIOR] = this.rfcExpected(sb);
    st[sb + F_RECV_PRIOR] = this.cs[slot * 2 * NC + C_PK];
    this.resolvedLoss(slot);
    lossCopy(this.lossScratch, 0, this.lossBase, slot * LOSS_FIELDS);
  }

  /** End a stream (RTCP BYE, SIP BYE, shutdown...): onStreamEnd once, then the slot is freed. */
  endStream(slot: number, reason: number): boolean {
    if (slot < 0 || slot >= this.maxStreams || this.active[slot] === 0) return false;
    this.active[slot] = 0;
    const hk = this.hooks.onStreamEnd;
    if (hk !== undefined) hk(slot, reason);
    this.streams.remove(slot);
    if (this.inTuples[slot] === 1) {
      this.tuples.remove(slot);
      this.inTuples[slot] = 0;
    }
    const pos = this.activePos[slot];
    const last = this.activeList[--this.activeCount];
    this.activeList[pos] = last;
    this.activePos[last] = pos;
    this.activePos[slot] = -1;
    this.callRefs[slot] = -1;
    this.freeList[this.freeCount++] = slot;
    this.counters.streamsEnded++;
    return true;
  }

  /** End every stream silent for silenceTimeoutMs at capture time nowMs (ms since the epoch). */
  expire(nowMs: number): number {
    if (this.epochSec < 0) return 0;
    const limit = nowMs - this.epochSec * 1000 - this.opts.silenceTimeoutMs;
    let ended = 0;
    for (let i = this.activeCount - 1; i >= 0; i--) {
      const s = this.activeList[i];
      if (this.st[s * NS + F_LAST_MS] < limit) {
        this.endStream(s, EndReason.timeout);
        ended++;
      }
    }
    return ended;
  }

  endAll(reason: number): void {
    for (let i = this.activeCount - 1; i >= 0; i--) this.endStream(this.activeList[i], reason);
  }

  /** Visit active slots; `fn` may end the slot it is given (and only that one). */
  forEachActive(fn: (slot: number) => void): void {
    for (let i = this.activeCount - 1; i >= 0; i--) fn(this.activeList[i]);
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
