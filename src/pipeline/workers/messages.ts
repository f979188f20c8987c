/**
 * Messages between the main thread (signalling owner, outputs, metrics) and the media workers
 * (capture + decode + RTP/RTCP + QoS reports for their PACKET_FANOUT share). All are structured clones;
 * the frequent ones (SIP, reports) are batched per capture batch or per tick.
 */
import type { ProbeConfig } from '../../ops/config.js';
import type { QosReport } from '../../report/index.js';
import type { MediaBinding } from '../../sip/index.js';
import type { RtcpFacts } from '../pipeline.js';
import type { RtcpAsk } from './held-asks.js';
import type { UnmatchedRtcp } from './rtcp-asks.js';
import type { Envelope } from '../report-sink.js';
import type { CaptureTotals } from '../capture-loop.js';

export interface MediaWorkerData {
  index: number;
  config: ProbeConfig;
  fanoutGroup: number;
  /**
   * One Int32 shared by the pool's workers: the index of the worker whose turn it is to open its capture.
   * Workers open one after the other, so the fanout group's members are in the order their sockets were
   * made: the order the kernel re-adds them in when the interface comes back up, which keeps each flow on
   * its worker across an interface down/up.
   */
  openTurn: SharedArrayBuffer;
  /**
   * One Float64: Date.now() once the last worker has opened, from when the group has every member. Before
   * it the kernel spread the flows over fewer members: the workers measure no packet captured earlier.
   */
  groupCompleteAt: SharedArrayBuffer;
  /** GroupRejoin's counters: the workers rebuild their fanout group in order after a lost capture. */
  groupRejoin: SharedArrayBuffer;
  /** SipInFlight's counts, shared by the pool and its workers. */
  sipInFlight: SharedArrayBuffer;
}

/** A SIP packet a media worker captured: the transport payload (after IP reassembly) and its addresses. */
export interface ForwardedSip {
  bytes: Uint8Array;
  ipVersion: number;
  ipProto: number;
  /** src0..3, dst0..3 address words. */
  addr: Int32Array;
  srcPort: number;
  dstPort: number;
  tcpSeq: number;
  tcpFlags: number;
  wireLength: number;
  tsSec: number;
  tsNsec: number;
  /**
   * Host clock steps the worker's pipeline had removed when it handled the packet (their sum, ms, and how
   * many it had measured): a step it measured reaches the owner with the SIP it held for it, ahead of the
   * worker's next stats.
   */
  clockOffsetMs: number;
  clockSteps: number;
}

export type ForwardedReport =
  /** `json`: JSON.stringify(report), made here: at a stop the main thread is busiest encoding and sending. */
  | { k: 'qos'; report: QosReport; env: Envelope; send: boolean; log: boolean; json?: string }
  | { k: 'rtcp'; json: string; env: Envelope; callId: string | null; compound: Uint8Array };

/** Counters a worker reports every second (cumulative, so a lost message loses nothing). */
export interface WorkerStats {
  packets: number;
  sip: number;
  /** Packets counted in a stream. */
  rtp: number;
  rtcp: number;
  otherUdp: number;
  /** Packets in no class yet (Pipeline.packetsPending): not cumulative, what is held now. */
  pending: number;
  malformed: number[];
  activeStreams: number;
  streamsStarted: number;
  evicted: number;
  /** Of `evicted`, streams on their first packet; packets held back because the table was full of confirmed streams (RtpCounters). */
  evictedUnconfirmed: number;
  heldBack: number;
  /** RTP-looking packets held for a stream that never started; RTCP not used (SRTCP by SDP, malformed). */
  rtpNotMeasured: number;
  /** RTP packets the snap length cut inside their RTP header (RtpEngineCounters.snapCut). */
  rtpSnapCut: number;
  srtcp: number;
  rtcpMalformed: number;
  /** SIP not forwarded to the main thread: SipInFlight's limit was waiting there already. */
  sipDropped: number;
  /** Alert rule evaluation errors since start, by rule. */
  ruleErrors: Array<[rule: string, count: number]>;
  /**
   * Host clock steps the worker's pipeline removed from capture time (ms), and how many, and its time
   * (capture time, steps removed), for the signalling owner.
   */
  clockOffsetMs: number;
  clockSteps: number;
  nowMs: number;
  capture: CaptureTotals;
}

export type WorkerToMain =
  | { t: 'ready'; backend: string; linkType: number; warnings: string[] }
  | { t: 'open-failed'; message: string; code?: string }
  /**
   * SIP captured since the last (maybe none), and the raw capture time (ms) of the latest packet this
   * worker has read: its SIP captured before that time has all been sent.
   */
  | { t: 'sip'; packets: ForwardedSip[]; throughMs: number }
  /**
   * Reports built since the last; `activeStreams` is the worker's open streams once they were built, so a
   * count of streams whose final report is still to come never lags the reports received.
   */
  | {
      t: 'reports';
      items: ForwardedReport[];
      activeStreams: number;
      /** A part of the final reports at the stop: the main thread answers 'took' once it has handled it. */
      part?: boolean;
    }
  /** Round trips and RTCP BYEs this worker saw: the RTP streams they concern may be on other workers. */
  | { t: 'rtcp'; facts: RtcpFacts[] }
  /** RTCP without SIP this worker holds no stream of (posted before the same compounds' facts): see RtcpAsks. */
  | { t: 'rtcp-unmatched'; items: UnmatchedRtcp[] }
  /** Answers to 'rtcp-ask': question number, the synthetic id of the stream this worker holds (null: none). */
  | { t: 'rtcp-answer'; answers: Array<[seq: number, callId: string | null]> }
  /**
   * Calls whose media flowed in the last tick (keeps them from idle expiry): call index and Call-ID pairs,
   * and the capture time of the latest audio the worker saw of each (0: none, only touched).
   */
  | { t: 'touch'; callIndex: number[]; callId: string[]; mediaAtMs: number[]; nowMs: number }
  | { t: 'stats'; stats: WorkerStats; ended: Array<[reason: number, mos: number]> }
  | { t: 'log'; level: 'error' | 'warn' | 'info' | 'debug'; obj: object; msg: string }
  | { t: 'state'; state: 'running' | 'failed' }
  /** Answer to 'reload' `seq`: applied, or the reason it was not (the old schedule stays). */
  | { t: 'reloaded'; seq: number; error?: string }
  /** After 'stop': the capture is drained, the SIP it held was posted before this; waiting for 'finish'. */
  | { t: 'drained' }
  /** After 'finish': every final report has been posted before this. */
  | { t: 'done' };

export type MainToWorker =
  /**
   * One bound address of a binding (RTP, RTCP or NAT source); the binding object rides along. `sipMs`: the
   * capture time of the SIP message that gave the address to the binding (the owner's time, clock steps
   * removed), which streams that started on the worker since then are re-matched against.
   */
  | { t: 'bind'; binding: MediaBinding; w: [number, number, number, number]; port: number; rtcp: boolean; sipMs: number }
  | { t: 'update'; binding: MediaBinding }
  /** A call with bindings was answered (on), or that call ended (off). */
  | { t: 'answered'; callIndex: number; on: boolean }
  | { t: 'retire'; id: number; reason: 'moved' | 'rejected' | 'call-end' }
  /** Another worker's RTCP facts. */
  | { t: 'rtcp'; facts: RtcpFacts[] }
  /** RTCP without SIP another worker read: does this worker hold its stream? (answered by 'rtcp-answer', see HeldAsks) */
  | { t: 'rtcp-ask'; asks: RtcpAsk[] }
  /** The main thread holds SIP for the workers' progress (on) or holds none (off): how far each has read is wanted. */
  | { t: 'progress'; on: boolean }
  | { t: 'reload'; seq: number; intervalS: number; rules: ProbeConfig['reports']['rules']; faults: ProbeConfig['reports']['faults'] }
  /** Stop capturing; read what the kernel captured before the stop, then post 'drained'. */
  | { t: 'stop' }
  /** Every worker is drained and the owner has retired what ended: end every stream and exit. */
  | { t: 'finish' }
  /** A 'reports' part of the final reports was handled (the worker builds the next ones meanwhile). */
  | { t: 'took' };
