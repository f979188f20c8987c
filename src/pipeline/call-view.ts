import type { DecodedPacket } from '../decode/index.js';
import type { CallEvictionKind, MediaBinding } from '../sip/index.js';

/**
 * What the pipeline needs from SIP state. In a single thread it is the CallTracker itself; in a media
 * worker it is a mirror of the signalling owner's bindings (src/pipeline/workers/binding-mirror.ts), fed
 * by binding events, that forwards the SIP it sees instead of parsing it.
 */
export interface CallView {
  /** Binding id for a media address (RTP or RTCP), -1 when none. Allocation-free: called per packet. */
  findBinding(ip0: number, ip1: number, ip2: number, ip3: number, port: number): number;
  /** The binding behind an id; null when retired. */
  binding(id: number): MediaBinding | null;
  /** The call was answered (2xx) and has not ended: its media is due. */
  callAnswered(callIndex: number): boolean;
  /** Media of the call is flowing: keeps it from idle expiry. */
  touch(callIndex: number, nowMs: number): void;
  /**
   * Worker mode (a view that is not the CallTracker): audio of the call arrived at `atMs` (the latest
   * packet's capture time), for the signalling owner's no-media check; touches the call too.
   */
  mediaAt?(callIndex: number, atMs: number): void;
  /** True when the packet is SIP (or SIP-port traffic) and has been consumed. */
  onPacket(pkt: DecodedPacket, nowMs: number): boolean;
  expire(nowMs: number): void;
  /** Capture time at which the next lingering media is due to retire (optional: the owner retires it in worker mode). */
  nextRetireMs?(): number;
  /** End of input: media of ended calls that still lingers retires now (optional: the owner does it in worker mode). */
  settle?(): void;
  endAll(nowMs: number): void;
  /**
   * Worker mode (a view that is not the CallTracker): the pipeline measured its `steps`th host clock step;
   * the SIP it hands on from now on is dated with `offsetMs` (the sum of its steps) removed.
   */
  clockOffset?(offsetMs: number, steps: number): void;
  readonly activeCalls: number;
}

/** The pipeline's reactions to binding changes (the CallTracker hooks it uses). */
export interface CallViewHooks {
  /**
   * `sipMs`: given when the binding arrives after media captured later than its SIP (a worker's mirror),
   * the SIP's capture time: streams that started since then are matched again as if it had been there.
   */
  onBinding(bindingId: number, ip0: number, ip1: number, ip2: number, ip3: number, port: number, sipMs?: number): void;
  onBindingRetired(bindingId: number, reason: 'moved' | 'rejected' | 'call-end'): void;
  onCallEvicted?(kind: CallEvictionKind, callId: string): void;
  /** Only where the view is the CallTracker itself (media-fault checks of answered calls). */
  onCallAnswered?(callIndex: number, nowMs: number): void;
  /** Only where the view is the CallTracker itself: the call's SDP made its audio due again (resume from hold). */
  onCallResumed?(callIndex: number, nowMs: number): void;
  onCallEnd?(callIndex: number): void;
  /** Only where the view is the CallTracker itself: a SIP message refused for a value past its bound. */
  onValueTooLong?(): void;
}
