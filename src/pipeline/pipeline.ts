/**
 * The probe's data flow for one packet source, in one direction (DESIGN.md):
 *   batch -> decode -> SIP? -> RTCP? -> RTP engine;  capture-time ticks -> reports -> sink.
 * Everything per packet is numbers and preallocated state; objects are made only for rare events
 * (new stream, SIP message, RTCP packet, report).
 */
import type { PacketBatch } from '../capture/index.js';
import type { CaptureCursor } from '../capture/file/index.js';
import { DecodedPacket, PacketDecoder, addressToString } from '../decode/index.js';
import type { ProbeConfig } from '../ops/config.js';
import { captureTimeMs, nodeNameOf } from '../outbound/index.js';
import { CodecTable } from '../qos/index.js';
import { QosReporter, mediaDirection, syntheticCallId } from '../report/index.js';
import type { ReportOut, StreamReportInput } from '../report/index.js';
import { CaptureDropLog } from '../report/capture-drop-log.js';
import type { LegRoundTrips } from '../qos/index.js';
import { RtcpReader, RttTracker, compoundOf, hostKey, isRtcp, latestKey, newRtcpParseStats, rtcpToHomerJson } from '../rtcp/index.js';
import type { RtcpEndpoint } from '../rtcp/index.js';
import { EndReason, RtpEngine, createStreamSnapshot, isRtpCandidate, payloadKindOfEncoding, jitterBufferIndex, reservedPayloadRtp, rtpHeaderCut } from '../rtp/index.js';
import type { JitterBufferOptions } from '../rtp/index.js';
import { CallTracker, SIP_WAITING_LIMIT, SipBacklog, SipPortSet } from '../sip/index.js';
import type { CallEvictionKind, CallTrackerOptions } from '../sip/index.js';
import type { MediaBinding } from '../sip/index.js';
import type { CallView, CallViewHooks } from './call-view.js';
import type { Envelope, ReportTarget } from './report-sink.js';
import { StreamContexts } from './stream-context.js';
import { RecentStarts } from './recent-starts.js';
import { PendingByes, type ForwardedBye } from './pending-byes.js';
import { MediaFaultMonitor, mediaFaultLimits } from './media-faults.js';
import { sipMessageHook, type SipTarget } from './sip-out.js';
import { HeldPackets } from './held-packets.js';

/** Reports, expiry and adaptive intervals advance on capture time, once per second of it. */
const TICK_MS = 1000;
/**
 * Live capture: SIP handled inline takes at most this much of each batch; the rest of the batch's SIP waits
 * in the backlog and is handled after the batch's media, in slices of this length, so a SIP flood costs
 * SIP (the backlog fills and refuses, counted) instead of kernel drops of media.
 */
const SIP_SLICE_MS = 2;
/**
 * While the capture is behind, SIP making room for the media waiting behind it (makeRoom) is handled at
 * one message per this many packets captured, saved up to ROOM_SIP_MAX for bursts: a call's setup is about
 * 7 messages beside its thousands of RTP packets (a capture of short calls replayed at top speed, one in
 * 150), a flood one in 4.
 */
const ROOM_SIP_PACKETS = 32;
const ROOM_SIP_MAX = 256;
/** At shutdown, queued SIP is handled this long at most. */
const SIP_SHUTDOWN_MS = 1000;
/** Media worker: RTP of payload type 72..95 that waits for its binding at most (holdForBinding), and its payload bytes. */
const LATE_BOUND_LIMIT = { packets: 2048, bytes: 1 << 20 };

/** A jump of capture time this large (either way) is checked for a host clock step. */
const CLOCK_STEP_MS = 1000;
/** Ticks a packet-less gap in a replay runs at most before time jumps (catchUpTicks): an hour of capture time. */
const MAX_CATCH_UP_TICKS = 3600;
/**
 * Packets a jump waits for an RTP packet of an active stream to tell whether the clock stepped, and their
 * payload bytes (HeldPackets): past either, the jump is time that passed.
 */
const CLOCK_STEP_HOLD_PACKETS = 256;
const CLOCK_STEP_HOLD_BYTES = 512 << 10;
/**
 * A jump waits this long of capture time at most (from its first held packet) for a stream to tell a clock
 * step: a sending stream's next packet comes within its packet time, and capture time after a step runs on
 * from the stepped clock. Streams that do not send by then have stopped (a call whose capture ended), and
 * waiting on would stamp the SIP after a quiet gap (the next capture file, of a later day) with the time
 * before the gap: its calls would look idle for the whole gap and end at once.
 */
const CLOCK_STEP_RECENT_MS = 1000;
/**
 * An RTCP BYE from another worker waits for this pipeline's packets to reach its capture time, or for the
 * wall clock to pass it by this much (packets captured before it have been read long since: a ring is read
 * at least every capture.buffer_timeout_ms, 1 s at most).
 */
const PENDING_BYE_WALL_MS = 2000;
/** A wall-clock tick this far from capture time (the timer runs once a second) may be a host clock step. */
const WALL_STEP_MS = 3000;
/** Wall-clock ticks such a jump waits for an RTP packet to measure the step. */
const WALL_STEP_HOLD_TICKS = 5;

export interface PipelineEvents {
  streamStarted?(): void;
  streamEnded?(reason: number, finalMos: number): void;
  /** The SIP backlog was full: this SIP packet is not handled (counted in sipBacklogDropped; log it rate-limited). */
  sipDropped?(): void;
  /** A SIP message was refused for a Call-ID, X-CID or tag past its bound (counted; log it rate-limited). */
  sipValueTooLong?(): void;
  /** The full call table evicted a call (rare; counted and logged by the integrator). */
  callEvicted?(kind: CallEvictionKind, callId: string): void;
  /**
   * What an RTCP packet taught that can concern streams elsewhere (worker mode: the RTCP flow and the RTP
   * streams it describes may sit on different workers); given to their pipelines' applyRtcpFacts().
   */
  rtcpFacts?(facts: RtcpFacts): void;
  /** An alert rule could not be evaluated for a stream (counted in reporter.scheduler.errors). */
  ruleError?(rule: string, error: string): void;
  /** An RTCP compound was not used: `error` says why (counted in rtcpStats.malformed; log it rate-limited). */
  rtcpMalformed?(error: string, src: string, dst: string): void;
  /**
   * Worker mode: an RTCP compound without a SIP binding whose sender's stream this pipeline does not hold
   * (reports.unknown_call_id 'synthetic'): its flow may hash to another worker than its stream's RTP. It
   * goes to the sink from there, under the synthetic id the other pipelines' unsignalledRtcpId() finds, or
   * uncorrelated when none does; not from here. `compound` is a copy.
   */
  rtcpUnmatched?(json: string, env: Envelope, lookup: RtcpLookup, compound: Uint8Array): void;
}

/** What finds the stream an RTCP compound without a SIP binding belongs to: its sender's SSRC, its flow's addresses and ports. */
export interface RtcpLookup {
  ssrc: number;
  src: [number, number, number, number];
  dst: [number, number, number, number];
  srcPort: number;
  dstPort: number;
}

/** An address as IP words and port. */
export interface Endpoint {
  ip: [number, number, number, number];
  port: number;
}

/**
 * Round trips by the SSRC they concern and the host that reported them (hostKey), and an RTCP BYE's SSRCs
 * with its flow's address words, ports and capture time (ms, clock steps removed), and the RTP addresses
 * an a=rtcp of the SDP paired with those RTCP addresses (null when none).
 */
export interface RtcpFacts {
  rtt: Array<[ssrc: number, reporter: RtcpEndpoint, rttMs: number]>;
  bye: Array<{ ssrcs: number[]; src: [number, number, number, number]; dst: [number, number, number, number]; srcPort: number; dstPort: number; srcRtp: Endpoint | null; dstRtp: Endpoint | null; atMs: number }>;
}

/** True when `rtp` is the RTP port one below `port` on that address, or `port` itself (rtcp-mux). */
function portsCover(rtp: Endpoint, w0: number, w1: number, w2: number, w3: number, port: number): boolean {
  return rtp.ip[0] === w0 && rtp.ip[1] === w1 && rtp.ip[2] === w2 && rtp.ip[3] === w3 && rtp.port >= port - 1 && rtp.port <= port;
}

/**
 * Streams ended per part of a stop (finishSome): a part's final reports take a few ms to build, then the
 * outputs get a turn to send them.
 */
export const FINISH_PART_STREAMS = 100;

/**
 * Where SIP state lives: by default a CallTracker owned by this pipeline (single thread); a media worker
 * passes a factory for its binding mirror instead.
 */
export type CallViewFactory<C extends CallView> = (hooks: CallViewHooks) => C;

export class Pipeline<C extends CallView = CallTracker> {
  readonly decoder: PacketDecoder;
  readonly engine: RtpEngine;
  readonly calls: C;
  readonly reporter: QosReporter;
  readonly rtt: RttTracker;
  readonly rtcpStats = newRtcpParseStats();
  /** Every RTCP packet is read into these tables (objects only for HOMER's JSON). */
  private readonly rtcpReader = new RtcpReader();
  /** Silences, one-way and missing media (reports.faults). */
  readonly faults: MediaFaultMonitor;
  /**
   * rtpHeldBehindSip: RTP queued behind waiting SIP; rtpMadeRoom: backlog entries taken early to make room
   * for it; rtpHeldDropped: of those queued, not measured (still waiting when a stop cut the backlog).
   */
  readonly counts = { packets: 0, sip: 0, rtcp: 0, otherUdp: 0, streamsEnded: 0, sipDeferred: 0, sipBacklogDropped: 0, rtpHeldBehindSip: 0, rtpMadeRoom: 0, rtpHeldDropped: 0 };
  /** Latest capture time seen, ms since the epoch. */
  nowMs = 0;
  /** Kernel + interface drops of the source, read in capture time (reported so they are not read as network loss). */
  readonly captureDropLog = new CaptureDropLog();
  /** Host clock steps detected, and their sum subtracted from capture time since (see clockJump). */
  clockSteps = 0;
  clockOffsetMs = 0;
  /** Packets that came while capture time held at a jump, not handled yet (clockJump). */
  private readonly held = new HeldPackets(CLOCK_STEP_HOLD_PACKETS, CLOCK_STEP_HOLD_BYTES);
  private readonly heldPkt = new DecodedPacket();
  /** Capture time (clock offset applied) of the first packet a jump held. */
  private heldFromMs = 0;
  /** Capture time when the next capture file began (nextCapture), NaN once its first packet was seen past it. */
  private captureBoundaryMs = Number.NaN;
  private heldWallTicks = 0;
  /** counts.packets at the latest wall-clock tick (wallTick). */
  private packetsAtWallTick = 0;

  private readonly pkt = new DecodedPacket();
  private readonly snap = createStreamSnapshot();
  private readonly ctx: StreamContexts;
  private readonly heuristic: boolean;
  private readonly nodeName: string;
  private hostTimestamps = false;
  /** Round trips other pipelines measured (worker mode only), by latestKey(reporting host, SSRC). */
  private remoteRtt: Map<string, number> | null = null;
  /** Capture time at which a packet calls tickAtPacket: the next tick, or an earlier pending BYE's time. */
  private nextTickMs = 0;
  private tickDueMs = 0;
  /** Live capture: a timer ticks once a second (wallTick), so packets never catch up on ticks. */
  private wallTicks = false;
  /** No ticks are caught up over the jump at this packet (clockJump): it is the time between two capture files. */
  private noCatchUp = false;
  /** Ticks the current gap's catch-up has run (catchUpTicks). */
  private caughtUpTicks = 0;
  /**
   * The packet that ended a gap whose catch-up paused for the outputs (its bytes; itself in this.pkt, or
   * the oldest held packet when these are the held packets' bytes: see releaseHeld).
   */
  private pausedBuf: Uint8Array | null = null;
  /**
   * Replay as fast as possible: true while an output wants the producer to wait (Outputs.room). A catch-up
   * over a gap pauses then; processRecords returns false and resumes at its next call.
   */
  outputsFull: (() => boolean) | null = null;
  /** Capture time of the latest tick's call-activity sweep, and of the one before it (touchCallsWithMedia). */
  private activityTickMs = 0;
  private mediaSinceMs = 0;
  private readonly pendingByes: PendingByes;
  /** Media worker: its capture drained at a stop (drainedCapture); other workers' RTCP BYEs wait for nothing. */
  private captureDrained = false;
  /** Capture time of the packet being processed, ms (see processPacket). */
  private pktMs = 0;
  private readonly sipPorts: SipPortSet;
  /** Live capture only (enableSipBacklog): SIP beyond SIP_SLICE_MS per batch waits here. */
  private sipBacklog: SipBacklog | null = null;
  /** TCP segments among the backlog's SIP: in no class until handled (a datagram is SIP when queued). */
  private sipTcpQueued = 0;
  /** Media worker (holdForLateBindings): RTP of payload type 72..95 waiting for its binding. */
  private lateBound: SipBacklog | null = null;
  private readonly lateBoundPkt = new DecodedPacket();
  private lateBindingMs = 0;
  private readonly sipPkt = new DecodedPacket();
  /**
   * Running streams without a call, by their destination and source ports: a new binding finds the streams
   * on its address among these instead of scanning every stream (an INVITE binds up to 32 addresses).
   */
  private readonly unattachedByPort = new Map<number, Set<number>>();
  /** Per slot: the two ports it is indexed under, -1 when not indexed. */
  private readonly unattachedPorts: Int32Array;
  /**
   * Stream starts remembered for bindings that arrive late (worker mode), as many as the stream table holds:
   * however many new streams start before a binding arrives (a flood of them, an overloaded main thread), a
   * stream started since its SIP that is still running is among them. 12 bytes a slot.
   */
  private readonly recentStarts: RecentStarts;
  /** performance.now() until which this batch's SIP is handled inline. */
  private sipInlineUntil = 0;
  /** SIP messages that may still be handled to make room for media (makeRoom); unbounded while the capture keeps up. */
  private roomSip = ROOM_SIP_MAX;
  private sipDrainScheduled = false;
  /** finishSome() has begun: the SIP backlog and lingering calls are settled once. */
  private finishing = false;
  private sipSliceMs = SIP_SLICE_MS;
  private sipShutdownMs = SIP_SHUTDOWN_MS;
  /** Report kind for streams ended by SIP (set just before engine.endStream). */
  private sipEndKind: 'FINAL' | 'HANGUP' = 'HANGUP';
  /**
   * Streams that started without a SIP binding, by sender (senderKey: address words, RTP port, SSRC) and
   * by flow (flowKey: sender and receiver address words, receiver's RTP port, SSRC): their RTCP is sent
   * under the same synthetic id as their QoS reports (reports.unknown_call_id 'synthetic' only).
   */
  private readonly unsignalled: Map<string, number> | null;
  /** The binding isSignalled found for the packet being classified, -1 when none. */
  private signalledBinding = -1;
  /** reportInput's object and legRoundTrips' arrays (see there). */
  private readonly input: StreamReportInput;
  private readonly legIds: string[] = [];
  private legRtts: Float64Array = new Float64Array(8);
  /** legRtts' first 2n entries, by n: made once per leg count. */
  private readonly legViews: LegRoundTrips[] = [];

  constructor(
    config: ProbeConfig,
    private readonly sink: ReportTarget,
    private readonly events: PipelineEvents = {},
    makeCalls?: CallViewFactory<C>,
  ) {
    const d = config.decode;
    this.decoder = new PacketDecoder({ vxlanPort: d.vxlanPort, tzspPort: d.tzspPort, maxFragmentChains: d.maxFragmentChains, fragmentTimeoutMs: d.fragmentTimeoutMs });
    const r = config.rtp;
    this.heuristic = r.heuristic.enabled;
    this.sipPorts = new SipPortSet(config.sip.ports);
    this.nodeName = nodeNameOf(config);
    this.input = { callId: null, xcid: null, codecName: null, nodeName: this.nodeName, dir: 0, party: 0, hostTimestamps: false, rttMs: null, legRtts: undefined, captureDrops: 0, captureDropLog: this.captureDropLog };
    this.ctx = new StreamContexts(r.maxStreams);
    this.unattachedPorts = new Int32Array(2 * r.maxStreams).fill(-1);
    this.recentStarts = new RecentStarts(r.maxStreams);
    this.pendingByes = new PendingByes(r.maxStreams); // one BYE per stream the table holds, at most
    // One RTCP sender per stream at most: sized like the stream table, not the tracker's 64k default (~1.5 KB each).
    this.rtt = new RttTracker(r.maxStreams);
    this.engine = new RtpEngine(
      {
        maxStreams: r.maxStreams,
        silenceTimeoutMs: r.silenceTimeoutS * 1000,
        defaultClockRate: r.defaultClockRate,
        wiresharkCompatibleClock: r.wiresharkCompatibleClock,
        jitterBuffer: jitterBufferOptions(config.qos.jitterBuffers),
        heuristic: {
          minConsecutive: r.heuristic.minConsecutive,
          requireEvenPort: r.heuristic.requireEvenPort,
          allowedPayloadTypes: r.heuristic.payloadTypes.map((pt) => [pt, pt] as [number, number]),
        },
      },
      {
        onStreamStart: (slot) => this.onStreamStart(slot),
        resolveClock: (slot, pt) => this.resolveClock(slot, pt),
        resolvePayloadKind: (slot, pt) => this.resolvePayloadKind(slot, pt),
        signalledPayload: (pt) => this.calls.binding(this.signalledBinding)?.payloads.has(pt) === true,
        onStreamEnd: (slot, reason) => this.onStreamEnd(slot, reason),
      },
    );
    const hooks: CallViewHooks = {
      onBinding: (id, a, b, c, e, port, sipMs) => this.onBinding(id, a, b, c, e, port, sipMs),
      onBindingRetired: (id, reason) => this.endStreamsOfBinding(id, reason === 'call-end' ? 'HANGUP' : 'FINAL'),
      onCallEvicted: (kind, callId) => this.events.callEvicted?.(kind, callId),
      onCallAnswered: (callIndex, nowMs) => this.faults.answered(callIndex, nowMs),
      onCallResumed: (callIndex, nowMs) => this.faults.resumed(callIndex, nowMs),
      onCallEnd: (callIndex) => this.faults.callEnded(callIndex),
      onValueTooLong: () => this.events.sipValueTooLong?.(),
    };
    // Every SIP message the tracker parses also leaves through the sink (HEP type 1), when one takes SIP.
    const sipTarget = sink as Partial<SipTarget>;
    const withSip = sipTarget.sip && sipTarget.wantsSip ? { ...hooks, onMessage: sipMessageHook(sipTarget as SipTarget) } : hooks;
    this.calls = makeCalls ? makeCalls(hooks) : (new CallTracker(withSip, callTrackerOptions(config)) as unknown as C);
    this.unsignalled = config.reports.unknownCallId === 'synthetic' ? new Map() : null;
    const q = config.qos;
    this.reporter = new QosReporter({
      maxStreams: r.maxStreams,
      schedule: { baseIntervalS: config.reports.intervalS, rules: config.reports.rules },
      unknownCallId: config.reports.unknownCallId,
      codecs: CodecTable.fromConfig(q.codecs),
      delay: { nominalOneWayDelayMs: q.nominalOneWayDelayMs, jitterBufferMs: q.jitterBufferMs },
      jitterBuffer: { fixed1Ms: q.jitterBuffers.fixed1Ms, fixed2Ms: q.jitterBuffers.fixed2Ms, adaptiveMaxMs: q.jitterBuffers.adaptiveMaxMs, reference: jitterBufferIndex(q.jitterBuffers.reference), delayInMos: q.jitterBuffers.delayInMos },
    });
    if (events.ruleError) this.reporter.scheduler.onError = events.ruleError;
    this.faults = new MediaFaultMonitor(
      { engine: this.engine, ctx: this.ctx, calls: this.calls, reporter: this.reporter, sink, snap: this.snap, input: (slot) => this.reportInput(slot), emit: (out) => this.emit(out), nodeName: this.nodeName },
      mediaFaultLimits(config.reports.faults),
      this.calls instanceof CallTracker ? this.calls : null,
    );
  }

  /**
   * A reading of the capture's drops since start, taken at wall time `wallMs`. It is stamped in capture
   * time; with host timestamps (cap stamps a packet when it is read) at the latest packet's time.
   */
  noteCaptureDrops(total: number, wallMs: number): void {
    this.captureDropLog.note(total, this.hostTimestamps ? this.nowMs : wallMs - this.clockOffsetMs);
  }

  /** Marks every stream of this source as host-timestamped (cap backend). */
  setHostTimestamps(on: boolean): void {
    this.hostTimestamps = on;
    this.engine.setHostTimestamps(on);
  }

  /**
   * Live capture: SIP is handled inline for SIP_SLICE_MS of each batch, then queued behind the batch's
   * media (drained after each batch and while the capture is idle). Replay keeps packet order exact and
   * never calls this.
   */
  enableSipBacklog(o: { sliceMs?: number; shutdownMs?: number; messages?: number; bytes?: number } = {}): void {
    this.sipBacklog ??= new SipBacklog(o.messages ?? SIP_WAITING_LIMIT.messages, o.bytes ?? SIP_WAITING_LIMIT.bytes);
    this.sipSliceMs = o.sliceMs ?? SIP_SLICE_MS;
    this.sipShutdownMs = o.shutdownMs ?? SIP_SHUTDOWN_MS;
  }

  /**
   * Media worker: its bindings come from the signalling owner up to `maxMs` after the SDP that made them
   * was captured; RTP only an SDP makes RTP (payload type 72..95) waits for them (holdForBinding).
   */
  holdForLateBindings(maxMs: number): void {
    this.lateBound ??= new SipBacklog(LATE_BOUND_LIMIT.packets * 4, LATE_BOUND_LIMIT.bytes); // media takes a quarter
    this.lateBindingMs = maxMs;
  }

  /**
   * Packets counted in counts.packets but in no class yet: RTP candidates, media queued behind SIP or for
   * its binding, TCP segments queued for the call tracker, packets held at a clock jump. Each leaves to a
   * class (a stream, SIP, other) later.
   */
  get packetsPending(): number {
    return this.engine.heldPending + (this.sipBacklog?.mediaLength ?? 0) + this.sipTcpQueued + (this.lateBound?.length ?? 0) + this.held.length;
  }

  /** SIP packets waiting in the backlog. */
  get sipBacklogLength(): number {
    return this.sipBacklog?.length ?? 0;
  }

  processBatch(batch: PacketBatch): void {
    const q = this.sipBacklog;
    const t0 = q !== null ? performance.now() : 0;
    this.sipInlineUntil = t0 + this.sipSliceMs;
    const dec = this.decoder;
    const pkt = this.pkt;
    const n = batch.count;
    // A batch less than half full means the capture emptied the ring; fuller ones mean it is behind.
    const behind = n * 2 >= batch.offset.length;
    this.roomSip = behind ? Math.min(ROOM_SIP_MAX, this.roomSip + n / ROOM_SIP_PACKETS) : Number.POSITIVE_INFINITY;
    let i = 0;
    try {
      for (; i < n; i++) if (dec.decode(batch, i, pkt)) this.processDecoded(batch.buf);
    } finally {
      // Counted once per batch, as processRecords counts (a packet that threw counts as processed).
      this.counts.packets += i < n ? i + 1 : n;
    }
    if (q !== null && q.length > 0) {
      // The capture emptied the ring: queued SIP gets its full slice. Behind: SIP gets at most as long as
      // the batch took (half the thread), nothing more once making room for media took its share.
      if (!behind) this.drainSip(this.sipSliceMs);
      else if (this.roomSip >= 1) this.drainSip(Math.min(this.sipSliceMs, performance.now() - t0));
      this.scheduleSipDrain();
    }
  }

  /** Handles queued SIP in order for up to `sliceMs` (Infinity: all of it). */
  drainSip(sliceMs: number): void {
    const q = this.sipBacklog;
    if (q === null) return;
    const until = performance.now() + sliceMs;
    const nowBefore = this.pktMs;
    while (q.length > 0) {
      this.handleQueued(q);
      if ((q.length & 15) === 0 && performance.now() >= until) break;
    }
    this.pktMs = nowBefore;
  }

  /** Handles the backlog's oldest entry (SIP, or RTP held behind it) at its capture time (left in pktMs). */
  private handleQueued(q: SipBacklog): void {
    const pkt = this.sipPkt;
    this.pktMs = this.shiftQueued(q);
    if (q.shiftedMedia) this.queuedRtp(pkt, q.bytes);
    else if (this.calls.onPacket(pkt, this.pktMs) && pkt.ipProto !== 17) this.counts.sip++;
  }

  /**
   * Shutdown: queued SIP is handled for at most SIP_SHUTDOWN_MS (the shutdown deadline also covers the
   * final reports and their delivery); what is left is dropped, counted.
   */
  private finishSip(): void {
    const q = this.sipBacklog;
    if (q === null || q.length === 0) return;
    this.drainSip(this.sipShutdownMs);
    while (q.length > 0) {
      this.shiftQueued(q);
      if (q.shiftedMedia) {
        this.counts.rtpHeldDropped++;
        continue;
      }
      this.counts.sipBacklogDropped++;
      this.events.sipDropped?.();
    }
  }

  /** The backlog's oldest entry into sipPkt (q.shift); its capture time. */
  private shiftQueued(q: SipBacklog): number {
    const nowMs = q.shift(this.sipPkt);
    if (!q.shiftedMedia && this.sipPkt.ipProto !== 17) this.sipTcpQueued--;
    return nowMs;
  }

  /** While the capture has nothing to deliver, the backlog drains in slices between event-loop turns. */
  private scheduleSipDrain(): void {
    if (this.sipDrainScheduled) return;
    this.sipDrainScheduled = true;
    setImmediate(() => {
      this.sipDrainScheduled = false;
      this.drainSip(Math.max(this.sipSliceMs, 0.1));
      if (this.sipBacklogLength > 0) this.scheduleSipDrain();
    });
  }

  processPacket(batch: PacketBatch, i: number): void {
    this.counts.packets++;
    if (this.decoder.decode(batch, i, this.pkt)) this.processDecoded(batch.buf);
  }

  /**
   * The records of a capture cursor's window, each decoded as soon as its header is read (file replay:
   * one pass over the records instead of filling a batch and reading it back). Throws the cursor's
   * CaptureFileError at damage, after processing every record before it. False when it stopped inside the
   * window for the outputs (outputsFull, during a catch-up over a gap): call it again with the same cursor
   * once they have room.
   */
  processRecords(cur: CaptureCursor): boolean {
    if (this.pausedBuf !== null && !this.resumeCatchUp()) return false;
    const dec = this.decoder;
    const pkt = this.pkt;
    let n = 0;
    try {
      while (cur.next()) {
        n++;
        const buf = cur.data;
        if (dec.decodeFrame(buf, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt)) {
          this.processDecoded(buf);
          if (this.pausedBuf !== null) return false;
        }
      }
    } finally {
      this.counts.packets += n;
    }
    return true;
  }

  /**
   * Everything after decoding, for the packet in `this.pkt` (its bytes in `buf`). Kept small (the usual
   * RTP packet here, the rest in classify). Under replay's V8 defaults it is a call of its own from
   * processRecords: V8 optimises it first, with classify and the SIP hand-off inlined, and counts those
   * against the loop's budget (inlining it anyway measured no faster: native-bench/README.md).
   */
  private processDecoded(buf: Uint8Array): void {
    const pkt = this.pkt;
    // The packet's capture time reaches the rare paths (tick, SIP, RTCP) through this field, never as an
    // argument: a double passed to a call that is not inlined is boxed, and the box would be made for
    // every packet (16 bytes each, most of the replay's garbage).
    let now = captureTimeMs(pkt.tsSec, pkt.tsNsec) - this.clockOffsetMs;
    // While packets are held at a jump, the packets after them wait behind them too, jump or not: handled
    // first, a newer packet would split a stream's packets out of order (a candidate's run never passes).
    if (this.nowMs > 0 && (now - this.nowMs > CLOCK_STEP_MS || this.nowMs - now > CLOCK_STEP_MS || this.held.length !== 0)) {
      now = this.clockJump(now, buf);
      if (now !== now) return; // held until the jump is judged, or waiting behind the held packets (clockJump)
    }
    this.pktMs = now;
    // Ticks follow capture time packet by packet: a replayed batch can span many report intervals.
    if (now >= this.nextTickMs) {
      if (this.tickAtPacket(buf)) return; // paused for the outputs, the packet waits (resumeCatchUp)
    } else if (now > this.nowMs) this.nowMs = now;
    this.dispatch(pkt, buf);
  }

  /** The packet in `this.pkt`, its time decided and ticks run: RTP to the engine, the rest classified. */
  private dispatch(pkt: DecodedPacket, buf: Uint8Array): void {
    // UDP off the SIP ports with an RTP version-2 header whose payload type is not RTCP's is RTP to the
    // engine, the answer classify would give: a first byte of 0x80..0xBF starts no SIP text, and RTCP's
    // packet types 200..207 read as payload types 72..79, which isRtpCandidate refuses.
    if (pkt.ipProto === 17 && !this.sipPorts.has(pkt.srcPort) && !this.sipPorts.has(pkt.dstPort) &&
      isRtpCandidate(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) {
      this.rtpCandidate(pkt, buf);
    } else {
      this.classify(pkt, buf);
    }
  }

  /** Every packet processDecoded does not take at once: TCP, SIP, RTCP, other UDP, and RTP on a SIP port. */
  private classify(pkt: DecodedPacket, buf: Uint8Array): void {
    const b = pkt.payloadBuf;
    const off = pkt.payloadOffset;
    const len = pkt.payloadLength;
    if (pkt.ipProto !== 17) {
      if (pkt.ipProto === 6) this.sipPacket(pkt);
      return;
    }
    // The call view's own UDP SIP screen, applied here so that only SIP is offered to it.
    if (this.sipPorts.isSipDatagram(pkt.srcPort, pkt.dstPort, b, off, len) && this.sipPacket(pkt)) return;
    if (isRtcp(b, off, len)) {
      this.counts.rtcp++;
      this.onRtcp(pkt);
      return;
    }
    if (!isRtpCandidate(b, off, len)) {
      this.reservedRtpCandidate(pkt, buf);
      return;
    }
    this.rtpCandidate(pkt, buf);
  }

  /**
   * UDP the RTP screen refused, maybe RTP of payload type 72..95: queued behind waiting SIP as other RTP is
   * (live capture: the SDP that maps it may be waiting), else measured now if an SDP maps it.
   */
  private reservedRtpCandidate(pkt: DecodedPacket, buf: Uint8Array): void {
    const kind = reservedPayloadRtp(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength);
    if (kind === 0) {
      // RTP cut short of its fixed header by the snap length is media lost to the capture, not other UDP.
      if (rtpHeaderCut(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength, pkt.payloadWireLength)) this.engine.counters.snapCut++;
      else this.counts.otherUdp++; // no RTP header of payload type 72..95: junk, or UDP of another protocol
      return;
    }
    const q = this.sipBacklog;
    if (q !== null && q.length > 0 && this.holdBehindSip(q, pkt, buf)) return;
    if (this.lateBound !== null && this.holdForBinding(this.lateBound, pkt, buf)) return;
    if (!this.signalledReservedRtp(pkt, buf, kind)) this.counts.otherUdp++;
  }

  /**
   * Media worker: bindings come from the signalling owner a few buffer timeouts after their SDP was
   * captured, while one thread handles the SDP before the media behind it. RTP of payload type 72..95 on
   * an address no binding names yet, or whose binding's SDP does not map its payload type (a call that
   * ended moments before, still lingering on a port the next call reuses), waits for one that does, up to
   * lateBindingMs, and so does every later packet of its stream while one waits (capture order); the
   * binding then says whether it is RTP (as for one thread: with the marker bit it is RTCP's where the SDP
   * muxes RTCP). True when held; false when the queue is full (the packet is handled now, as without it).
   * `pkt` is such RTP (reservedPayloadRtp).
   */
  private holdForBinding(q: SipBacklog, pkt: DecodedPacket, buf: Uint8Array): boolean {
    const key = this.engine.streamKey(pkt);
    if (!q.holdsMediaFor(key) && this.signalledWithPayload(pkt)) return false;
    return q.pushMedia(pkt, buf, this.pktMs, key);
  }

  /** A binding names the packet's address (isSignalled) and its SDP maps the packet's payload type. */
  private signalledWithPayload(pkt: DecodedPacket): boolean {
    return this.isSignalled(pkt) && this.calls.binding(this.signalledBinding)?.payloads.has(pkt.payloadBuf[pkt.payloadOffset + 1]! & 0x7f) === true;
  }

  /**
   * Media worker (see holdForBinding): handles the held packets whose binding has come, and those that
   * waited lateBindingMs (`all`: every one, at the stop), in capture order; one still waiting holds the
   * packets behind it. Each at its capture time, as the SIP backlog's held media: a stream it starts
   * started then, not when its binding came (rematchSince compares the two).
   */
  private releaseHeldForBinding(nowMs: number, all = false): void {
    const q = this.lateBound!;
    const p = this.lateBoundPkt;
    const pktMsBefore = this.pktMs;
    for (let t = q.peek(p); t === t; t = q.peek(p)) {
      if (!all && nowMs - t < this.lateBindingMs && !this.signalledWithPayload(p)) break;
      this.pktMs = q.shift(p);
      if (!this.signalledReservedRtp(p, q.bytes)) this.counts.otherUdp++;
    }
    this.pktMs = pktMsBefore;
  }

  /** A media entry of the SIP backlog, its turn come: RTP that passed the screen, or of payload type 72..95. */
  private queuedRtp(pkt: DecodedPacket, buf: Uint8Array): void {
    if (isRtpCandidate(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) this.rtpPacket(pkt, buf);
    else if (!this.signalledReservedRtp(pkt, buf)) this.counts.otherUdp++;
  }

  /**
   * RTP of payload type 72..95, which the RTP screen refuses (RFC 5761 keeps them for RTCP to share the
   * port), to or from an SDP's address: the SDP may map one (PT 77 to a codec), and tshark measures such
   * a stream. It is RTP unless it could be RTCP: the marker bit clear, or (its second byte 200..223 then,
   * which tshark always takes for RTCP, counting the packet lost) the SDP does not mux RTCP on the port,
   * and it did not parse as RTCP before. Unsignalled, it stays no RTP. True when the engine took it.
   * `kind`: reservedPayloadRtp of the packet.
   */
  private signalledReservedRtp(pkt: DecodedPacket, buf: Uint8Array, kind = reservedPayloadRtp(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)): boolean {
    if (kind === 0 || !this.isSignalled(pkt)) return false;
    if (kind === 2 && this.calls.binding(this.signalledBinding)?.rtcpMux !== false) return false;
    this.engine.onReservedRtp(pkt, buf);
    return true;
  }

  /** A packet that passed the RTP screen: measured now, or queued behind waiting SIP (live capture). */
  private rtpCandidate(pkt: DecodedPacket, buf: Uint8Array): void {
    const q = this.sipBacklog;
    if (q !== null && q.length > 0 && this.holdBehindSip(q, pkt, buf)) return;
    this.rtpPacket(pkt, buf);
  }

  /** An RTP candidate packet (not SIP, not RTCP), its frame in `buf`. */
  private rtpPacket(pkt: DecodedPacket, buf: Uint8Array): void {
    // Known streams and heuristic candidates first; the binding lookup only for packets not yet counted.
    if (this.heuristic && this.engine.onRtp(pkt, false, buf) >= 0) return;
    if (this.isSignalled(pkt)) this.engine.onRtp(pkt, true, buf);
  }

  /**
   * SIP waits in the backlog: an RTP packet of no stream yet may be signalled by an SDP among the waiting
   * messages (the first packets of a call often share a capture batch with its 200 OK; a binding known
   * from the INVITE alone would start it on the wrong side). It is queued behind that SIP, and so is every
   * later packet of its stream while one waits, and handled in capture order: measured as if the SIP had
   * been handled inline. True when queued; false (handled now) for a known stream with nothing waiting.
   * When the backlog has no room for it (media fills its share), the oldest entries make room (makeRoom)
   * until it fits: media waiting for its SDP is measured late, never dropped or reordered.
   */
  private holdBehindSip(q: SipBacklog, pkt: DecodedPacket, buf: Uint8Array): boolean {
    const key = this.engine.streamKey(pkt);
    if (!q.holdsMediaFor(key) && this.engine.hasStream(pkt, key)) return false;
    const now = this.pktMs;
    while (!q.pushMedia(pkt, buf, now, key)) {
      if (q.length === 0) {
        this.pktMs = now;
        return false; // everything captured before it handled: its turn, in order
      }
      this.makeRoom(q);
    }
    this.pktMs = now;
    this.counts.rtpHeldBehindSip++;
    return true;
  }

  /**
   * Frees the backlog's oldest entry for RTP that must wait behind it. Media is handled. SIP is handled
   * too (a burst of media beside a little SIP, as a capture replayed at top speed or a busy link at
   * start-up: the calls' SDP is in it; what the probe cannot keep up with waits in the capture ring, whose
   * overflow the kernel counts), except past its share while the capture is behind (ROOM_SIP_PACKETS: a
   * flood): then it is given up, counted as refused SIP is, before any media.
   */
  private makeRoom(q: SipBacklog): void {
    this.counts.rtpMadeRoom++;
    if (this.roomSip >= 1) {
      this.handleQueued(q);
      if (!q.shiftedMedia) this.roomSip -= 1;
      return;
    }
    this.pktMs = this.shiftQueued(q);
    if (q.shiftedMedia) this.queuedRtp(this.sipPkt, q.bytes);
    else {
      this.counts.sipBacklogDropped++;
      this.events.sipDropped?.();
    }
  }

  /**
   * Capture time jumped by a second or more at this packet (`now`, offset applied; its frame in `buf`), or
   * at a packet before it that is still held: a host clock step (NTP), a real silence, or (back) a live ring
   * read more than a second behind the wall clock's last tick. An RTP packet of an active stream tells them
   * apart (RTP timestamps follow the sender, not our clock): on a step the offset grows by it, so streams,
   * calls and their delta and jitter never see it; live capture and replay alike. Until such a packet comes
   * (SIP or RTCP first), capture time holds, while a stream can be expected to send one
   * (aStreamCanTellClockStep), for CLOCK_STEP_RECENT_MS of capture time at most and as many packets as
   * HeldPackets takes: the packets meanwhile are held, in the order they came, and handled once the jump is
   * judged (judged). Returns the packet's time to use; NaN when the packet was taken (held, or kept behind
   * held packets whose handling paused).
   */
  private clockJump(now: number, buf: Uint8Array): number {
    const pkt = this.pkt;
    if (this.nowMs === this.captureBoundaryMs) {
      // The first packet of the next capture file: the jump is time between two captures, where nothing
      // went silent (no ticks are caught up over it). nextCapture() handled what the last one held.
      this.captureBoundaryMs = Number.NaN;
      this.noCatchUp = true;
      return now;
    }
    const step = pkt.ipProto === 17 ? this.engine.clockStepAt(pkt) : Number.NaN;
    if (step === step) {
      if (Math.abs(step) < CLOCK_STEP_MS) return this.judged(now, buf); // the stream was silent as long: real time passed
      this.clockSteps++;
      this.clockOffsetMs += step;
      this.engine.setClockOffsetMs(this.clockOffsetMs);
      this.calls.clockOffset?.(this.clockOffsetMs, this.clockSteps);
      return this.judged(now - step, buf);
    }
    if (this.held.length === 0) this.heldFromMs = now;
    if (now - this.heldFromMs <= CLOCK_STEP_RECENT_MS && this.aStreamCanTellClockStep() && this.held.hold(pkt, buf)) return Number.NaN;
    return this.judged(now, buf); // no stream told in time: time passed
  }

  /**
   * The jump is judged (clockOffsetMs holds the step, if it was one): the packets held for it are handled
   * first (releaseHeld), then this one at `now`. NaN when their handling paused for the outputs: this packet
   * is kept behind them and handled with them.
   */
  private judged(now: number, buf: Uint8Array): number {
    if (this.held.length === 0 || this.releaseHeld()) return now;
    this.held.keepLast(this.pkt, buf);
    return Number.NaN;
  }

  /**
   * Handles the held packets in the order they came, each at its capture time less the clock offset: on a
   * host clock step, their time before it; on time that passed, their own time, after the ticks of the gap
   * (catchUpTicks at the first). False when that catch-up paused for the outputs: the rest wait (pausedBuf
   * is the held packets' bytes; resumeCatchUp goes on here).
   */
  private releaseHeld(): boolean {
    const q = this.held;
    const p = this.heldPkt;
    while (q.length > 0) {
      q.peek(p);
      const now = captureTimeMs(p.tsSec, p.tsNsec) - this.clockOffsetMs;
      this.pktMs = now;
      if (now >= this.nextTickMs) {
        if (this.tickAtPacket(q.bytes!)) return false;
      } else if (now > this.nowMs) this.nowMs = now;
      q.shift(p);
      this.dispatch(p, q.bytes!);
    }
    return true;
  }

  /**
   * The held packets when no packet can tell their jump any more (the capture ended, or a stop): time that
   * passed. The gap's catch-up runs whole: nothing can wait for the outputs here, and it reports at most
   * what ending every stream does.
   */
  private releaseHeldWhole(): void {
    if (this.held.length === 0) return;
    const outputsFull = this.outputsFull;
    this.outputsFull = null;
    this.releaseHeld();
    this.outputsFull = outputsFull;
    if (this.pausedBuf === this.held.bytes) this.pausedBuf = null; // it was their catch-up that paused
  }

  /** Raw capture time (ms, host clock steps included) of the first packet held at a jump, +Infinity when none. */
  get heldSinceRawMs(): number {
    return this.held.length > 0 ? this.heldFromMs + this.clockOffsetMs : Number.POSITIVE_INFINITY;
  }

  /**
   * True when an active stream with a known clock (what clockStepAt judges) may still send: one whose
   * media is not lingering after its call ended or moved. Waiting for a stream that will not send would
   * hold capture time still, keeping the lingering call alive for whatever arrives meanwhile (RTCP long
   * after a BYE). Asked for every packet while a jump holds them: it stops at the first such stream, or a
   * probe that fell behind the wall clock would look at every open stream for each packet and fall further.
   */
  private aStreamCanTellClockStep(): boolean {
    return this.engine.someActive(this.canTellClockStep);
  }

  private readonly canTellClockStep = (slot: number): boolean => {
    if (this.engine.clockRate(slot) === 0) return false;
    const id = this.ctx.binding[slot];
    const b = id >= 0 ? this.calls.binding(id) : null;
    return b === null || b.retireAtMs <= 0;
  };

  /** SIP (or SIP-port traffic) is consumed by the call view; true when it was. */
  private sipPacket(pkt: DecodedPacket): boolean {
    // Past its share of this batch (or behind SIP already waiting), SIP is queued, in order.
    const q = this.sipBacklog;
    if (q !== null && (q.length > 0 || performance.now() >= this.sipInlineUntil)) {
      this.counts.sipDeferred++;
      // A UDP datagram is SIP by the screen already (counted now, also if refused); TCP once its stream is read.
      if (pkt.ipProto === 17) this.counts.sip++;
      if (!q.push(pkt, this.pktMs)) {
        this.counts.sipBacklogDropped++;
        this.events.sipDropped?.();
      } else if (pkt.ipProto !== 17) this.sipTcpQueued++;
      return true;
    }
    if (!this.calls.onPacket(pkt, this.pktMs)) return false;
    this.counts.sip++;
    return true;
  }

  /** True when a catch-up over a gap paused for the outputs (catchUpTicks): the packet (`buf`) waits. */
  private tickAtPacket(buf: Uint8Array): boolean {
    const now = this.pktMs;
    if (now >= this.pendingByes.nextMs) this.endByeStreams(this.pendingByes.takeDue(now));
    if (now >= this.tickDueMs) {
      if (!this.wallTicks && !this.noCatchUp && !this.catchUpTicks(now)) {
        this.pausedBuf = buf;
        return true;
      }
      this.noCatchUp = false;
      this.caughtUpTicks = 0;
      this.tick(now);
    } else {
      if (now > this.nowMs) this.nowMs = now;
      this.nextTickMs = Math.min(this.tickDueMs, this.pendingByes.nextMs);
    }
    return false;
  }

  /**
   * Replay (processRecords), after a pause: goes on with the catch-up, then handles the packet that ended
   * the gap (in `this.pkt`, its time in pktMs as decided before), or the held packets. False when the
   * outputs are full again.
   */
  private resumeCatchUp(): boolean {
    const buf = this.pausedBuf!;
    this.pausedBuf = null;
    if (buf === this.held.bytes) return this.releaseHeld();
    if (this.tickAtPacket(buf)) return false;
    this.dispatch(this.pkt, buf);
    return true;
  }

  /**
   * Capture time jumped past more than one tick at this packet (a packet-less gap in a replayed capture,
   * whose ticks follow its packets): the ticks of the gap run first, once a TICK_MS as a live probe's timer
   * would run them, while something in progress is measured against time (active streams: their silences,
   * timeouts and report intervals; media lingering after its call; calls watched for one-way or missing
   * media), at most MAX_CATCH_UP_TICKS; then time jumps. A call that hung up before the gap retires its
   * media with it (HANGUP), a stream that stopped pages its silence at silence_s and ends at its timeout,
   * as they would live. False when it paused because outputsFull said so (processRecords returns, the
   * replay waits for room and calls it again: resumeCatchUp).
   */
  private catchUpTicks(now: number): boolean {
    while (this.caughtUpTicks < MAX_CATCH_UP_TICKS && this.tickDueMs + TICK_MS <= now && this.timeMatters()) {
      this.tick(this.tickDueMs);
      this.caughtUpTicks++;
      // A replay waits for its outputs between windows of the file; a long catch-up can report every
      // stream several times over (silence, end), more than a queue holds: it pauses for them too.
      if (this.outputsFull !== null && this.outputsFull()) return false;
    }
    return true;
  }

  private timeMatters(): boolean {
    return this.engine.activeStreams > 0 || (this.calls.nextRetireMs?.() ?? Number.POSITIVE_INFINITY) < Number.POSITIVE_INFINITY || this.faults.watchingCalls;
  }

  /**
   * Live capture's once-a-second timer (`wallMs`: the wall clock, which capture timestamps follow): reports
   * and timeouts keep flowing when traffic stops. Host clock steps already measured are removed, as from
   * packets; a tick that jumps past what the timer explains while a stream can still measure the step
   * (the next RTP packet does) holds time for up to WALL_STEP_HOLD_TICKS ticks: expiring at the stepped
   * time first would end every stream and call for a step forward. Packets held at a jump (clockJump) wait
   * as long as a packet would let them, a second of capture time.
   * A smaller step forward is no jump for the timer, but the tick would move time past it before the next
   * RTP packet could measure it: a tick more than CLOCK_STEP_MS past the latest packet, when packets came
   * since the previous tick, holds time once (the timer runs once a second, so the silence since is not
   * its own; a late timer or a capture read late holds time at the packets, which then move it on).
   */
  wallTick(wallMs: number): void {
    this.wallTicks = true;
    const now = wallMs - this.clockOffsetMs;
    const silentSinceTick = this.counts.packets !== this.packetsAtWallTick && now - this.pktMs > CLOCK_STEP_MS;
    this.packetsAtWallTick = this.counts.packets;
    if (this.held.length > 0) {
      // Packets held at a jump: a stream may still tell a step within the hold's second; past it, time passed.
      if (now - this.heldFromMs <= CLOCK_STEP_RECENT_MS) {
        this.tick(this.nowMs);
        return;
      }
      this.releaseHeld(); // with a timer no catch-up runs: nothing pauses
    }
    const jump = this.nowMs > 0 && Math.abs(now - this.nowMs) >= WALL_STEP_MS;
    if (jump && this.heldWallTicks < WALL_STEP_HOLD_TICKS && this.aStreamCanTellClockStep()) {
      this.heldWallTicks++;
      this.tick(this.nowMs);
      return;
    }
    this.heldWallTicks = 0;
    if (silentSinceTick && this.aStreamCanTellClockStep()) {
      this.tick(this.nowMs);
      return;
    }
    this.endByeStreams(this.pendingByes.takeDue(now - PENDING_BYE_WALL_MS));
    this.tick(now);
  }

  /** Advances capture-time work: silent streams end, idle calls expire, due streams are reported. */
  tick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const now = this.nowMs;
    this.tickDueMs = now + TICK_MS;
    this.nextTickMs = Math.min(this.tickDueMs, this.pendingByes.nextMs);
    if (this.lateBound !== null && this.lateBound.length > 0) this.releaseHeldForBinding(now);
    this.engine.expire(now);
    this.touchCallsWithMedia(now);
    this.calls.expire(now);
    this.faults.tick(now);
    const sched = this.reporter.scheduler;
    const n = sched.due(now);
    // Nothing takes PERIODIC/ALERT reports (replay without HEP or JSON lines): intervals are scored, not reported.
    const build = this.sink.wantsIntervalReports ? this.sink.wantsIntervalReports() : true;
    for (let i = 0; i < n; i++) {
      const slot = sched.dueSlots[i];
      this.engine.snapshot(slot, this.snap);
      if (build) {
        const outs = this.reporter.onInterval(this.snap, this.reportInput(slot), now);
        for (const out of outs) this.emit(out);
      } else {
        this.sink.countUnbuilt!(this.reporter.onIntervalUnbuilt(this.snap, this.reportInput(slot), now));
      }
      this.engine.resetInterval(slot);
    }
  }

  /**
   * Each call with a packet on one of its streams since the previous tick is touched: idle expiry, the
   * full table's eviction order and the other-leg window read a call's activity to the tick, whatever the
   * report interval (an interval longer than call_idle_timeout_s would otherwise end a call mid-media).
   */
  private touchCallsWithMedia(now: number): void {
    this.mediaSinceMs = this.activityTickMs;
    this.activityTickMs = now;
    this.engine.forEachActive(this.touchIfMedia);
  }

  private readonly touchIfMedia = (slot: number): void => {
    if (this.engine.lastSeenMs(slot) <= this.mediaSinceMs) return;
    const binding = this.bindingOf(slot);
    if (binding !== null) this.calls.touch(binding.callIndex, this.activityTickMs);
  };

  /**
   * The packets that follow are another capture's (the next file of a replay): a jump in capture time at
   * its first packet is time that passed between the two captures, never a host clock step within one, so
   * capture time does not hold for a stream of the first to tell (one still sending where the first file
   * was cut never sends in the next). Packets the first held at a jump of its own are handled first, that
   * jump taken as time that passed: nothing of it is left to tell.
   */
  nextCapture(): void {
    this.releaseHeldWhole();
    this.captureBoundaryMs = this.nowMs;
  }

  /** End of input or shutdown: every open stream gets its final report, every call ends. */
  finish(): void {
    while (!this.finishSome(Infinity));
  }

  /** finish() in parts with an event-loop turn between them: the outputs send each part's reports meanwhile. */
  async finishInTurns(): Promise<void> {
    while (!this.finishSome(FINISH_PART_STREAMS)) await new Promise<void>((r) => setImmediate(r));
  }

  /**
   * finish() a part at a time, so a stop can send the final reports built so far between the parts (a
   * shutdown deadline then loses only the reports not built yet): ends at most `maxStreams` streams per call.
   * True once every stream and call has ended.
   */
  finishSome(maxStreams: number): boolean {
    if (!this.finishing) {
      this.finishing = true;
      this.releaseHeldWhole();
      this.finishSip();
      if (this.lateBound !== null) this.releaseHeldForBinding(this.nowMs, true);
      this.endByeStreams(this.pendingByes.takeDue(Number.POSITIVE_INFINITY));
      this.calls.settle?.(); // streams of calls that already ended get their HANGUP, not a shutdown FINAL
    }
    const e = this.engine;
    let ended = 0;
    // forEachActive visits the active slots from the last: ending the one visited moves no other.
    if (e.activeStreams > maxStreams) e.forEachActive((slot) => ended++ < maxStreams && e.endStream(slot, EndReason.shutdown));
    if (e.activeStreams > 0 && ended === 0) e.endAll(EndReason.shutdown);
    if (e.activeStreams > 0) return false;
    e.endAll(EndReason.shutdown); // no stream left: discards the packets still held as candidates
    this.calls.endAll(this.nowMs);
    return true;
  }

  /** Binds the packet's destination, else its source (as onStreamStart attaches); sets signalledBinding. */
  private isSignalled(pkt: DecodedPacket): boolean {
    let id = this.calls.findBinding(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort);
    if (id < 0) id = this.calls.findBinding(pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort);
    this.signalledBinding = id;
    return id >= 0;
  }

  private onStreamStart(slot: number): void {
    const e = this.engine;
    this.ctx.clear(slot);
    let id = this.calls.findBinding(e.dstAddrWord(slot, 0), e.dstAddrWord(slot, 1), e.dstAddrWord(slot, 2), e.dstAddrWord(slot, 3), e.dstPort(slot));
    let byDestination = true;
    if (id < 0) {
      id = this.calls.findBinding(e.srcAddrWord(slot, 0), e.srcAddrWord(slot, 1), e.srcAddrWord(slot, 2), e.srcAddrWord(slot, 3), e.srcPort(slot));
      byDestination = false;
    }
    if (id >= 0) this.attach(slot, id, byDestination);
    else this.indexUnattached(slot);
    this.recentStarts.add(slot, this.pktMs);
    if (id < 0 && this.unsignalled !== null) {
      this.unsignalled.set(senderKey(e.srcAddrWord(slot, 0), e.srcAddrWord(slot, 1), e.srcAddrWord(slot, 2), e.srcAddrWord(slot, 3), e.srcPort(slot), e.ssrc(slot)), slot);
      this.unsignalled.set(this.flowKeyOf(slot), slot);
    }
    this.reporter.streamStarted(slot, e.nowMs, this.captureDropLog.seenBy(this.pktMs));
    this.events.streamStarted?.();
  }

  private attach(slot: number, bindingId: number, byDestination: boolean): void {
    const b = this.calls.binding(bindingId);
    if (!b) return;
    this.unindexUnattached(slot);
    this.ctx.attach(slot, b, byDestination, this.engine.payloadType(slot));
    this.engine.setCallRef(slot, bindingId);
    this.calls.touch(b.callIndex, this.nowMs); // a call with media is the last the full table evicts
  }

  private bindingOf(slot: number): MediaBinding | null {
    const id = this.ctx.binding[slot];
    return id >= 0 ? this.calls.binding(id) : null;
  }

  private resolveClock(slot: number, pt: number): number {
    const b = this.bindingOf(slot);
    this.ctx.updateCodec(slot, b, pt);
    return b ? (b.payloads.get(pt)?.clockRate ?? 0) : 0;
  }

  private resolvePayloadKind(slot: number, pt: number): number {
    const name = this.bindingOf(slot)?.payloads.get(pt)?.name;
    return name ? payloadKindOfEncoding(name) : -1;
  }

  private onStreamEnd(slot: number, reason: number): void {
    this.engine.snapshot(slot, this.snap);
    // Nothing takes the end's reports (replay without outputs or table): the last interval is scored, the
    // reports (a hundred fields each) are counted, not built.
    const reports = this.sink.wantsStreamEndReports ? this.sink.wantsStreamEndReports() : true;
    let finalMos = 0;
    if (reports) {
      const kind = reason === EndReason.sipBye ? this.sipEndKind : 'FINAL';
      const outs = this.reporter.onStreamEnd(this.snap, this.reportInput(slot), kind, this.nowMs);
      for (const out of outs) this.emit(out);
      if (outs.length > 0) finalMos = Number(outs[outs.length - 1].report.MOS);
    } else {
      const n = this.reporter.onStreamEndUnbuilt(this.snap, this.reportInput(slot), this.nowMs);
      this.sink.countUnbuilt!(n);
      if (n > 0) finalMos = this.reporter.finalMos(slot);
    }
    this.counts.streamsEnded++;
    this.unindexUnattached(slot);
    this.events.streamEnded?.(reason, finalMos);
    if (this.unsignalled !== null && this.unsignalled.size > 0) {
      const e = this.engine;
      const k = senderKey(e.srcAddrWord(slot, 0), e.srcAddrWord(slot, 1), e.srcAddrWord(slot, 2), e.srcAddrWord(slot, 3), e.srcPort(slot), e.ssrc(slot));
      if (this.unsignalled.get(k) === slot) this.unsignalled.delete(k);
      const f = this.flowKeyOf(slot);
      if (this.unsignalled.get(f) === slot) this.unsignalled.delete(f);
    }
    this.ctx.clear(slot);
  }

  /**
   * A binding appeared: streams already running on its address (early media, missed INVITE) join the call.
   * `sipMs` (worker mode): the capture time of the SIP that made it, for streams that started since.
   */
  private onBinding(id: number, w0: number, w1: number, w2: number, w3: number, port: number, sipMs?: number): void {
    this.attachUnattached(id, w0, w1, w2, w3, port);
    if (sipMs !== undefined) this.rematchSince(id, w0, w1, w2, w3, port, sipMs);
    if (this.lateBound !== null && this.lateBound.length > 0) this.releaseHeldForBinding(this.nowMs);
  }

  private attachUnattached(id: number, w0: number, w1: number, w2: number, w3: number, port: number): void {
    const e = this.engine;
    const onPort = this.unattachedByPort.get(port);
    if (onPort === undefined) return;
    for (const slot of onPort) {
      if (this.ctx.binding[slot] >= 0) continue;
      if (e.dstPort(slot) === port && e.dstAddrWord(slot, 0) === w0 && e.dstAddrWord(slot, 1) === w1 && e.dstAddrWord(slot, 2) === w2 && e.dstAddrWord(slot, 3) === w3) {
        this.attach(slot, id, true);
      } else if (e.srcPort(slot) === port && e.srcAddrWord(slot, 0) === w0 && e.srcAddrWord(slot, 1) === w1 && e.srcAddrWord(slot, 2) === w2 && e.srcAddrWord(slot, 3) === w3) {
        this.attach(slot, id, false);
      }
    }
  }

  /**
   * Binding `id` took (w, port) with SIP captured at `sinceMs`, and reaches this worker after streams that
   * started since then chose their call without it: the address's previous binding (a call that ended
   * moments before and still lingers there) or the other side's (the offer's, before the answer's came).
   * Each such stream on the address is matched again as at its start (destination first, then source);
   * one whose match is now this binding moves to it, its Call-ID, DIR and PARTY those one pipeline gives.
   */
  private rematchSince(id: number, w0: number, w1: number, w2: number, w3: number, port: number, sinceMs: number): void {
    const e = this.engine;
    const calls = this.calls;
    this.recentStarts.forEachSince(sinceMs, (slot) => {
      if (!e.isActive(slot)) return;
      const onDst = e.dstPort(slot) === port && e.dstAddrWord(slot, 0) === w0 && e.dstAddrWord(slot, 1) === w1 && e.dstAddrWord(slot, 2) === w2 && e.dstAddrWord(slot, 3) === w3;
      const onSrc = e.srcPort(slot) === port && e.srcAddrWord(slot, 0) === w0 && e.srcAddrWord(slot, 1) === w1 && e.srcAddrWord(slot, 2) === w2 && e.srcAddrWord(slot, 3) === w3;
      if (!onDst && !onSrc) return;
      const byDst = calls.findBinding(e.dstAddrWord(slot, 0), e.dstAddrWord(slot, 1), e.dstAddrWord(slot, 2), e.dstAddrWord(slot, 3), e.dstPort(slot));
      const match = byDst >= 0 ? byDst : calls.findBinding(e.srcAddrWord(slot, 0), e.srcAddrWord(slot, 1), e.srcAddrWord(slot, 2), e.srcAddrWord(slot, 3), e.srcPort(slot));
      const byDestination = byDst >= 0;
      if (match !== id || (this.ctx.binding[slot] === id && this.ctx.dir[slot] === (byDestination ? 0 : 1))) return;
      this.attach(slot, id, byDestination);
    });
  }

  private indexUnattached(slot: number): void {
    this.unindexUnattached(slot); // a slot reused without its end hook: its old ports go first
    const e = this.engine;
    this.unattachedPorts[2 * slot] = e.dstPort(slot);
    this.unattachedPorts[2 * slot + 1] = e.srcPort(slot);
    for (let k = 0; k < 2; k++) {
      const port = this.unattachedPorts[2 * slot + k];
      const set = this.unattachedByPort.get(port);
      if (set === undefined) this.unattachedByPort.set(port, new Set([slot]));
      else set.add(slot);
    }
  }

  private unindexUnattached(slot: number): void {
    if (this.unattachedPorts[2 * slot] < 0) return;
    for (let k = 0; k < 2; k++) {
      const port = this.unattachedPorts[2 * slot + k];
      this.unattachedPorts[2 * slot + k] = -1;
      const set = this.unattachedByPort.get(port);
      if (set !== undefined && set.delete(slot) && set.size === 0) this.unattachedByPort.delete(port);
    }
  }

  /** SIP ended or moved the media: its streams get their final report now, not at the silence timeout. */
  private endStreamsOfBinding(id: number, kind: 'FINAL' | 'HANGUP'): void {
    // Worker mode: an RTCP BYE another worker read may still wait for this worker's packets (PendingByes).
    // It came before this retirement (a linger shorter than the wait, or a timer's race): it ends its
    // stream first, as one pipeline ended it at the BYE.
    if (this.pendingByes.length > 0) {
      const ssrcs: number[] = []; // read first: a stream a BYE ends leaves the binding's list
      for (let slot = this.ctx.anySlotOf(id); slot >= 0; slot = this.ctx.nextSlotOf(slot)) ssrcs.push(this.engine.ssrc(slot));
      for (const ssrc of ssrcs) this.endByeStreams(this.pendingByes.takeNaming(ssrc));
    }
    this.sipEndKind = kind;
    for (let slot = this.ctx.anySlotOf(id); slot >= 0; slot = this.ctx.anySlotOf(id)) {
      this.engine.endStream(slot, EndReason.sipBye);
      if (this.ctx.binding[slot] === id) this.ctx.clear(slot); // the end hook clears it; never loop on a slot
    }
  }

  /** An RTCP compound at capture time this.pktMs (read here: a double argument would be boxed per packet). */
  private onRtcp(pkt: DecodedPacket): void {
    const now = this.pktMs;
    let id = this.calls.findBinding(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort);
    if (id < 0) id = this.calls.findBinding(pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort);
    const binding = id >= 0 ? this.calls.binding(id) : null;
    // SRTCP (RFC 3711) is encrypted after its first 8 bytes, then carries an index and an authentication
    // tag. Where the SDP names a secure profile it is not parsed at all: ciphertext can happen to parse (a
    // "BYE" would end the stream). Elsewhere only a compound that parses to its last byte is clear RTCP;
    // SRTCP almost never does. Both are counted (rtcpStats.srtcp, .malformed), neither used nor forwarded.
    if (binding !== null && binding.srtp) {
      this.rtcpStats.srtcp++;
      return;
    }
    const r = this.rtcpReader;
    if (!r.read(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength, this.rtcpStats)) {
      const v = pkt.ipVersion;
      this.events.rtcpMalformed?.(r.error!, `${addressToString(v, pkt.src0, pkt.src1, pkt.src2, pkt.src3)}:${pkt.srcPort}`, `${addressToString(v, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3)}:${pkt.dstPort}`);
      return;
    }
    if (r.packets === 0) return;
    // HOMER's JSON and the address strings only when the target forwards RTCP (not with --no-hep). The
    // Call-ID is looked up before the compound's BYEs are applied: a sender's last compound (SR, SDES, BYE)
    // ends the very stream whose synthetic id it goes under.
    const forward = !this.sink.wantsRtcp || this.sink.wantsRtcp();
    const ssrc = r.senderSsrc(0);
    const callId = !forward ? null : id >= 0 ? (binding?.callId ?? null) : this.unsignalledId(pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort, ssrc);
    // Worker mode: a stream another worker may hold; asked before its BYEs reach that worker (see rtcpFacts below).
    const unmatched = callId === null && id < 0 && ssrc >= 0 && this.unsignalled !== null && this.events.rtcpUnmatched !== undefined;
    const v = pkt.ipVersion;
    // The RTP address an a=rtcp paired with the source: the reporting host, and a BYE's stream.
    const srcRtp = this.rtpOfRtcp(pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort);
    const reporter = this.reporterOf(pkt, srcRtp);
    const samples = this.rtt.observe(r, now, endpointKey(v, pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort), endpointKey(v, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort), reporter);
    let byes = false;
    let dstRtp: Endpoint | null = null;
    for (let i = 0; i < r.packets; i++) {
      if (r.pt[i] !== 203) continue;
      if (!byes) {
        byes = true;
        dstRtp = this.rtpOfRtcp(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort);
      }
      for (let k = 0; k < r.count[i]; k++) {
        this.endByeStream(r.byeSsrc(i, k), pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.srcPort, pkt.dstPort, srcRtp, dstRtp);
      }
    }
    const facts = this.events.rtcpFacts && (samples > 0 || byes) ? this.rtcpFactsOf(r, samples, reporter, pkt, srcRtp, dstRtp) : null;
    if (forward) {
      // HOMER gets the compound at the time it was captured, as the SIP: not `now`, which holds still while a
      // jump of capture time is told apart from a host clock step and runs offset after one.
      const compound = pkt.payloadBuf.subarray(pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength);
      const json = rtcpToHomerJson(compoundOf(r));
      const env = envelopeOf(pkt, captureTimeMs(pkt.tsSec, pkt.tsNsec));
      if (unmatched) {
        const lookup: RtcpLookup = { ssrc, src: [pkt.src0, pkt.src1, pkt.src2, pkt.src3], dst: [pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3], srcPort: pkt.srcPort, dstPort: pkt.dstPort };
        this.events.rtcpUnmatched!(json, env, lookup, Uint8Array.from(compound)); // a copy: the capture buffer is reused
      } else this.sink.rtcp(json, env, callId, compound);
    }
    // After the compound: another worker looks its stream up before this compound's BYEs end it there.
    if (facts !== null) this.events.rtcpFacts!(facts);
  }

  /** The synthetic id of the stream without SIP on this pipeline that an RTCP compound read by another (worker mode) belongs to; null when none. */
  unsignalledRtcpId(l: RtcpLookup): string | null {
    return this.unsignalledId(l.src[0], l.src[1], l.src[2], l.src[3], l.srcPort, l.dst[0], l.dst[1], l.dst[2], l.dst[3], l.dstPort, l.ssrc);
  }

  /** What the compound `r` just read taught, for the other pipelines (worker mode): `samples` of the RTT tracker, its BYEs. */
  private rtcpFactsOf(r: RtcpReader, samples: number, reporter: RtcpEndpoint, pkt: DecodedPacket, srcRtp: Endpoint | null, dstRtp: Endpoint | null): RtcpFacts {
    const facts: RtcpFacts = { rtt: [], bye: [] };
    for (let i = 0; i < samples; i++) facts.rtt.push([this.rtt.samples[i].sourceSsrc, reporter, this.rtt.samples[i].rttMs]);
    for (let i = 0; i < r.packets; i++) {
      if (r.pt[i] === 203) {
        facts.bye.push({ ssrcs: r.byeSsrcs(i), src: [pkt.src0, pkt.src1, pkt.src2, pkt.src3], dst: [pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3], srcPort: pkt.srcPort, dstPort: pkt.dstPort, srcRtp, dstRtp, atMs: this.pktMs });
      }
    }
    return facts;
  }

  /**
   * RTCP without a SIP binding follows the rule of the stream it describes: sent under that stream's
   * synthetic id when its QoS reports are (reports.unknown_call_id 'synthetic'), else not sent. The stream
   * is the sender's (`ssrc`, -1 when the first sub-packet names none), same address and SSRC: RTP port one
   * below (or the same with rtcp-mux), or, RTCP from a port of its own (a NAT, a stack with a socket per
   * flow such as GStreamer's rtpbin), the stream to the RTP port one below the RTCP's destination (or the same).
   */
  private unsignalledId(s0: number, s1: number, s2: number, s3: number, sport: number, d0: number, d1: number, d2: number, d3: number, dport: number, ssrc: number): string | null {
    if (this.unsignalled === null || this.unsignalled.size === 0 || ssrc < 0) return null;
    let slot = this.unsignalled.get(senderKey(s0, s1, s2, s3, sport - 1, ssrc));
    if (slot === undefined) slot = this.unsignalled.get(senderKey(s0, s1, s2, s3, sport, ssrc));
    if (slot === undefined) slot = this.unsignalled.get(flowKey(s0, s1, s2, s3, d0, d1, d2, d3, dport - 1, ssrc));
    if (slot === undefined) slot = this.unsignalled.get(flowKey(s0, s1, s2, s3, d0, d1, d2, d3, dport, ssrc));
    if (slot === undefined || !this.engine.isActive(slot) || this.ctx.binding[slot] >= 0) return null;
    this.engine.snapshot(slot, this.snap);
    return syntheticCallId(this.snap);
  }

  /**
   * The host whose reports an RTCP packet carries, as the streams they are about know their receiver: its
   * source, or the host of the RTP address whose SDP declared that source by a=rtcp (`rtp`, another host).
   */
  private reporterOf(pkt: DecodedPacket, rtp: Endpoint | null): RtcpEndpoint {
    return rtp === null ? hostKey(pkt.src0, pkt.src1, pkt.src2, pkt.src3) : hostKey(rtp.ip[0], rtp.ip[1], rtp.ip[2], rtp.ip[3]);
  }

  /** The flowKey of the stream in `slot`. */
  private flowKeyOf(slot: number): string {
    const e = this.engine;
    return flowKey(e.srcAddrWord(slot, 0), e.srcAddrWord(slot, 1), e.srcAddrWord(slot, 2), e.srcAddrWord(slot, 3), e.dstAddrWord(slot, 0), e.dstAddrWord(slot, 1), e.dstAddrWord(slot, 2), e.dstAddrWord(slot, 3), e.dstPort(slot), e.ssrc(slot));
  }

  /**
   * RTP address of the media whose SDP declared ip:port its RTCP address by a=rtcp (RFC 3605: another
   * port, or another host), null when no binding holds it as RTCP. With port + 1 or rtcp-mux the BYE
   * lookup finds the RTP address without it.
   */
  private rtpOfRtcp(w0: number, w1: number, w2: number, w3: number, port: number): Endpoint | null {
    const id = this.calls.findBinding(w0, w1, w2, w3, port);
    const b = id >= 0 ? this.calls.binding(id) : null;
    if (b === null || b.rtcpPort !== port) return null;
    const is = (a: Uint32Array) => a[0] === w0 && a[1] === w1 && a[2] === w2 && a[3] === w3;
    // The declared RTCP address pairs with the SDP's RTP address; the NAT address (the SIP packet's
    // source, bound with both ports) with itself.
    const ip = is(b.rtcpIp) ? b.ip : b.natIp !== null && is(b.natIp) ? b.natIp : null;
    if (ip === null || (b.port === port && is(ip))) return null;
    return { ip: [ip[0], ip[1], ip[2], ip[3]], port: b.port };
  }

  /**
   * RTCP BYE listing `ssrc`, sent from s:sport to d:dport: the sender's stream of that SSRC ends. It is the
   * stream on the RTP addresses of that RTCP flow: ports one below each (RFC 3550 11), the same (rtcp-mux,
   * RFC 5761), or the RTP address of the SDP that declared the address by a=rtcp (`srcRtp`, `dstRtp`,
   * null when none). A stream-index lookup each, so a flood of BYEs never walks the stream table, and a
   * forged BYE from another host or other ports ends nothing.
   */
  private endByeStream(ssrc: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, sport: number, dport: number, srcRtp: Endpoint | null, dstRtp: Endpoint | null): void {
    const e = this.engine;
    // The declared RTP address is tried where the ports one below and the same do not cover it already.
    const sn = srcRtp === null || portsCover(srcRtp, s0, s1, s2, s3, sport) ? 2 : 3;
    const dn = dstRtp === null || portsCover(dstRtp, d0, d1, d2, d3, dport) ? 2 : 3;
    for (let i = 0; i < sn; i++) {
      const sa = i < 2 ? null : srcRtp!.ip;
      const sp = i < 2 ? sport - 1 + i : srcRtp!.port;
      for (let j = 0; j < dn; j++) {
        const da = j < 2 ? null : dstRtp!.ip;
        const dp = j < 2 ? dport - 1 + j : dstRtp!.port;
        if (sp < 0 || dp < 0) continue;
        const slot = e.findStream(sa ? sa[0] : s0, sa ? sa[1] : s1, sa ? sa[2] : s2, sa ? sa[3] : s3, da ? da[0] : d0, da ? da[1] : d1, da ? da[2] : d2, da ? da[3] : d3, sp, dp, ssrc);
        if (slot >= 0) e.endStream(slot, EndReason.rtcpBye);
      }
    }
  }

  /** RTCP facts another pipeline saw (worker mode): round trips for this pipeline's reports, BYEs end streams. */
  applyRtcpFacts(f: RtcpFacts): void {
    const remote = (this.remoteRtt ??= new Map());
    for (const [ssrc, reporter, ms] of f.rtt) {
      // Latest wins and the oldest-updated goes first when full, like the RTT tracker's own table.
      const key = latestKey(reporter, ssrc);
      remote.delete(key);
      if (remote.size >= this.ctx.binding.length) remote.delete(remote.keys().next().value!);
      remote.set(key, ms);
    }
    // A BYE captured after this pipeline's latest packet waits for it (see PendingByes), unless its capture is drained.
    for (const b of f.bye) {
      if (b.atMs <= this.pktMs || this.captureDrained) this.endByeStreams([b]);
      else {
        const early = this.pendingByes.add(b);
        if (early !== null) this.endByeStreams([early]);
        if (b.atMs < this.nextTickMs) this.nextTickMs = b.atMs;
      }
    }
  }

  /**
   * Media worker at a stop: its capture is drained, so it reads no packet more. The RTCP BYEs another
   * worker read that wait for its packets (PendingByes) end their streams now, and those still to come at
   * once: the stop's retirements of calls that ended (HANGUP) come next, where one pipeline had ended each
   * such stream at its BYE's capture time (FINAL).
   */
  drainedCapture(): void {
    this.captureDrained = true;
    this.endByeStreams(this.pendingByes.takeDue(Number.POSITIVE_INFINITY));
  }

  private endByeStreams(byes: ForwardedBye[]): void {
    for (const b of byes) {
      for (const ssrc of b.ssrcs) this.endByeStream(ssrc, b.src[0], b.src[1], b.src[2], b.src[3], b.dst[0], b.dst[1], b.dst[2], b.dst[3], b.srcPort, b.dstPort, b.srcRtp, b.dstRtp);
    }
  }

  /** The probe's latest round trip with the receiver of the stream in `slot` (reports about its SSRC from its destination host), ms; NaN when none. */
  private rttOf(slot: number): number {
    const e = this.engine;
    const ssrc = e.ssrc(slot);
    const receiver = hostKey(e.dstAddrWord(slot, 0), e.dstAddrWord(slot, 1), e.dstAddrWord(slot, 2), e.dstAddrWord(slot, 3));
    const rtt = this.rtt.latestRttMs(ssrc, receiver);
    return Number.isNaN(rtt) && this.remoteRtt ? (this.remoteRtt.get(latestKey(receiver, ssrc)) ?? Number.NaN) : rtt;
  }

  /**
   * Round trips of every leg of the slot's call this pipeline sees (qos/delay.ts LegRoundTrips): per leg
   * (Call-ID of the conversation), the receiver round trip of a caller-to-callee stream (probe to callee
   * side) and of a callee-to-caller stream (probe to caller side), NaN when none is measured. Undefined
   * for a stream without a call. The arrays are this pipeline's scratch, valid until the next call: the
   * reporter reads them while scoring and keeps nothing.
   */
  private legRoundTrips(slot: number): LegRoundTrips | undefined {
    const conv = this.ctx.conversation[slot];
    if (conv === null) return undefined;
    const legs = this.legIds;
    let n = 0;
    for (let s = this.ctx.firstSlotOf(conv); s >= 0; s = this.ctx.nextInConversation(s)) {
      const callId = this.ctx.callId[s];
      if (callId === null) continue;
      let leg = 0;
      while (leg < n && legs[leg] !== callId) leg++;
      if (leg === n) {
        if (2 * n + 2 > this.legRtts.length) this.legRtts = growRtts(this.legRtts, this.legViews);
        legs[n++] = callId;
        this.legRtts[2 * leg] = Number.NaN;
        this.legRtts[2 * leg + 1] = Number.NaN;
      }
      const i = 2 * leg + mediaDirection(this.ctx.dir[s], this.ctx.party[s]);
      if (Number.isNaN(this.legRtts[i])) this.legRtts[i] = this.rttOf(s);
    }
    if (n === 0) return undefined;
    return (this.legViews[n] ??= this.legRtts.subarray(0, 2 * n));
  }

  /**
   * What the reporter needs of the slot besides its snapshot. One object per pipeline, refilled at each
   * report: the reporter copies what it keeps, and streams end and intervals close by the thousand.
   */
  private reportInput(slot: number): StreamReportInput {
    const rtt = this.rttOf(slot);
    const input = this.input;
    input.callId = this.ctx.callId[slot];
    input.xcid = this.ctx.xcid[slot];
    input.codecName = this.ctx.codecName[slot];
    input.dir = this.ctx.dir[slot];
    input.party = this.ctx.party[slot];
    input.hostTimestamps = this.hostTimestamps;
    input.rttMs = Number.isFinite(rtt) ? rtt : null;
    input.legRtts = this.legRoundTrips(slot);
    input.captureDrops = this.captureDropLog.total;
    return input;
  }

  private emit(out: ReportOut): void {
    const s = this.snap;
    this.sink.qos(out.report, { ipVersion: s.ipVersion, srcIp: s.srcIp, srcPort: s.srcPort, dstIp: s.dstIp, dstPort: s.dstPort, tsMs: this.nowMs }, out.send, out.log);
  }
}

/** The engine's jitter-buffer options from the configuration (null: emulation off). */
export function jitterBufferOptions(j: ProbeConfig['qos']['jitterBuffers']): JitterBufferOptions | null {
  if (!j.emulate) return null;
  const reference = jitterBufferIndex(j.reference);
  return {
    fixed1Ms: j.fixed1Ms, fixed2Ms: j.fixed2Ms, adaptiveMinMs: j.adaptiveMinMs, adaptiveMaxMs: j.adaptiveMaxMs,
    adaptiveMarginMs: j.adaptiveMarginMs, adaptiveStartMs: j.adaptiveStartMs, adaptiveHistory: j.adaptiveHistory, reference: reference < 0 ? 2 : reference,
  };
}

/** The CallTracker settings of a configuration (also used by the signalling owner in worker mode). */
export function callTrackerOptions(config: ProbeConfig): CallTrackerOptions {
  const s = config.sip;
  return {
    maxCalls: s.maxCalls,
    maxAgeMs: s.callMaxAgeS * 1000,
    idleMs: s.callIdleTimeoutS * 1000,
    sipPorts: s.ports,
    aLegHeaders: s.correlationHeaders,
    natBindSource: s.natBindSource,
    mediaLingerMs: s.mediaLingerS * 1000,
  };
}

/** Round-trip scratch of twice the size (a call with more legs than ever before); its views are made again. */
function growRtts(old: Float64Array, views: LegRoundTrips[]): Float64Array {
  const next = new Float64Array(old.length * 2);
  next.set(old);
  views.length = 0;
  return next;
}

/** A media sender as the unsignalled-stream index keys it: address words, RTP port, SSRC. */
function senderKey(w0: number, w1: number, w2: number, w3: number, port: number, ssrc: number): string {
  return `${w0 >>> 0}.${w1 >>> 0}.${w2 >>> 0}.${w3 >>> 0}/${port}/${ssrc >>> 0}`;
}

/** A media flow as the unsignalled-stream index keys it besides its sender: both address words, the receiver's RTP port, SSRC. */
function flowKey(s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, dport: number, ssrc: number): string {
  return `${s0 >>> 0}.${s1 >>> 0}.${s2 >>> 0}.${s3 >>> 0}>${d0 >>> 0}.${d1 >>> 0}.${d2 >>> 0}.${d3 >>> 0}/${dport}/${ssrc >>> 0}`;
}

/**
 * An RTCP endpoint as the round-trip tracker compares it (only equality matters): for IPv4 one number,
 * address and port (48 bits, exact in a double), with no string per packet; for IPv6 the words as text.
 */
function endpointKey(ipVersion: number, w0: number, w1: number, w2: number, w3: number, port: number): RtcpEndpoint {
  return ipVersion === 6 ? `6/${w0 >>> 0}.${w1 >>> 0}.${w2 >>> 0}.${w3 >>> 0}/${port}` : (w3 >>> 0) * 65536 + port;
}

function envelopeOf(pkt: DecodedPacket, now: number): Envelope {
  return {
    ipVersion: pkt.ipVersion,
    srcIp: addressToString(pkt.ipVersion, pkt.src0, pkt.src1, pkt.src2, pkt.src3),
    srcPort: pkt.srcPort,
    dstIp: addressToString(pkt.ipVersion, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3),
    dstPort: pkt.dstPort,
    tsMs: now,
  };
}
