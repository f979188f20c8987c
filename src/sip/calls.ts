/**
 * SIP dialog tracking for media correlation. Keyed by Call-ID; learns media bindings
 * (ip, port) -> call from SDP offers/answers in INVITE, 18x/2xx, ACK, PRACK and UPDATE; retires them when
 * a re-INVITE moves media, a stream is rejected, or the call ends (CANCEL, BYE, failed initial INVITE,
 * expiry, eviction). Rare events go to hooks; the per-stream lookup `findBinding` allocates nothing.
 *
 * Time is capture time in milliseconds (the caller passes it), so replayed files expire calls the same
 * way a live probe does.
 */
import type { DecodedPacket } from '../decode/packet.js';
import { BindingTable, type MediaBinding } from './bindings.js';
import { couldStartSip, looksLikeSip, SipPortSet } from './detect.js';
import { transportOf, type MediaTransport } from './bundle.js';
import { internAddress, isPrivateAddress, isUnspecifiedAddress, sameAddress } from './ip.js';
import { type MalformedReason, ParsedSipMessage, SipParser, type SipMessage } from './message.js';
import { parseSdp, parseSdpBytes, type SdpMedia, type SdpSession } from './sdp.js';
import { AWAIT_HEADER_END, SipTcpReassembler, type ConsumeFn, type TcpLoss } from './tcp.js';
import { IndexList } from './index-list.js';

export type CallEndReason = 'bye' | 'cancel' | 'rejected' | 'idle-timeout' | 'max-age' | 'evicted';
export type BindingRetireReason = 'moved' | 'rejected' | 'call-end';

/**
 * What a call was when the full table evicted it, in eviction order: ended calls still lingering go
 * first, then dialogs nobody answered (no provisional beyond 100, no SDP from the callee, no media), then
 * answered dialogs without media; calls with media go last, and only when the least recently active of
 * them has had no media for MEDIA_PROTECT_MS: otherwise the NEW dialog is not tracked ('refused').
 */
export const CALL_EVICTION_KINDS = ['ended', 'unanswered', 'answered', 'media', 'refused'] as const;
export type CallEvictionKind = (typeof CALL_EVICTION_KINDS)[number];
const CLASS_ENDED = 0;
const CLASS_UNANSWERED = 1;
const CLASS_ANSWERED = 2;
const CLASS_MEDIA = 3;
/** A call whose media was seen this recently is never evicted for a new dialog (media touches it every tick of capture time, once a second). */
const MEDIA_PROTECT_MS = 120_000;
/**
 * A call whose SDP named an address another call's SDP names now is taken as another leg of that call
 * (X_CID) only if it had SIP or media this recently: legs of one call are set up together and carry media.
 */
const OTHER_LEG_IDLE_MS = MEDIA_PROTECT_MS;

export interface CallTrackerHooks {
  onCallStart?: (callIndex: number, callId: string) => void;
  onCallEnd?: (callIndex: number, reason: CallEndReason) => void;
  /** The initial INVITE got its 2xx (the call is confirmed): media is due from now on (media-fault checks). */
  onCallAnswered?: (callIndex: number, nowMs: number) => void;
  /**
   * The SDP of a confirmed call makes its audio flow both ways again after one that held it (hold, then
   * resume) or bound none: media is due again from now on (media-fault checks).
   */
  onCallResumed?: (callIndex: number, nowMs: number) => void;
  /** Once per bound address (RTP, RTCP, NAT source): lets the integrator attach streams already running. */
  onBinding?: (bindingId: number, ip0: number, ip1: number, ip2: number, ip3: number, port: number) => void;
  /** The binding stops correlating (its id may be reused afterwards). */
  onBindingRetired?: (bindingId: number, reason: BindingRetireReason) => void;
  /** A live binding's fields changed in place (re-offer with the same address, hold, A-leg id learned). */
  onBindingUpdated?: (bindingId: number) => void;
  /**
   * Every SIP message parsed (UDP datagram or one message of a reassembled TCP stream), before the dialog
   * logic: its bytes are buf[off, off + len), `pkt` the packet that completed it. For the outputs (HEP type 1).
   * `msg` is the tracker's own, overwritten by the next message: read it during the call, keep no reference.
   */
  onMessage?: (msg: SipMessage, buf: Uint8Array, off: number, len: number, pkt: DecodedPacket, nowMs: number) => void;
  /** A message was refused for a value past its bound (SIP_VALUE_LIMITS; counted in stats.malformed too). */
  onValueTooLong?: () => void;
  /** The table was full and this call made room for a new one (counted in stats.callsEvictedByKind too). */
  onCallEvicted?: (kind: CallEvictionKind, callId: string) => void;
}

export interface CallTrackerOptions {
  /** Calls tracked at once; when full the least recently active call is evicted. Default 10000. */
  maxCalls?: number;
  /** Media bindings at once. Default 4 x maxCalls. */
  maxBindings?: number;
  /** End a call this long after it started whatever happens (missed BYE). Default 4 h. */
  maxAgeMs?: number;
  /** End a call after this long without SIP or touch(). Default 1 h (long calls have no mid-call SIP: call touch() on RTP). */
  idleMs?: number;
  /** Keep an ended call this long so retransmissions and late responses do not start it again. Default 30 s. */
  endedLingerMs?: number;
  /**
   * An ended call (BYE, CANCEL, rejection) and media moved away by a re-INVITE keep their media bindings
   * this long in capture time, so RTP/RTCP still in flight joins its stream before the final report.
   * Default 3 s.
   */
  mediaLingerMs?: number;
  /** Ports where UDP/TCP is treated as SIP even when the content check fails. Default [5060, 5061]. */
  sipPorts?: readonly number[];
  /** Headers carrying the A-leg Call-ID on a B2BUA leg; first found wins. Default ['X-CID']. */
  aLegHeaders?: readonly string[];
  /** Also bind the SIP packet's source address when the SDP address is private and differs. Default true. */
  natBindSource?: boolean;
  maxTcpConnections?: number;
  maxTcpBuffer?: number;
}

export type CallState = 'early' | 'confirmed' | 'ended';

export interface SipCall {
  index: number;
  callId: string;
  state: CallState;
  createdMs: number;
  lastMs: number;
  endReason: CallEndReason | null;
  /** Final status that ended the call (>= 300), 0 otherwise. */
  endStatus: number;
  /** To tag of that final response: the early dialog it ended ('' otherwise). */
  endTag: string;
  /** From tag of the first message seen: identifies side 0. */
  callerTag: string;
  /** CSeq number of the current initial INVITE (auth retries raise it). */
  inviteCseq: number;
  /**
   * Transactions (top Via branch hashes) of the current initial INVITE, one per fork or failover target
   * seen, still without a final response: a failure or CANCEL ends the call for good once none is left.
   */
  pendingInvites: number[];
  /** X-CID (or configured header) value, '' if none seen. */
  xcid: string;
  /** A-leg Call-ID: xcid, or this Call-ID without a `_b2b-N` suffix, '' when not a B leg. */
  aLegCallId: string;
  /** User-Agent/Server per side. */
  userAgents: [string, string];
  /** Binding id per side x m-line index, -1 when none. */
  bindings: Int32Array;
  /** The callee side answered (provisional beyond 100, a final response, or SDP from side 1). */
  answered: boolean;
  /** Capture time of the 2xx that confirmed the call (ms), 0 while not confirmed or when the start was missed. */
  answeredMs: number;
  /** RTP of the call was seen (touch()). */
  hasMedia: boolean;
  /** The latest SDP exempts the call from the no-media and one-way checks (mediaFaultsExemptBySdp). */
  mediaExempt: boolean;
  /** A re-offer (re-INVITE/UPDATE in a confirmed dialog) waiting for its 2xx; null when none. */
  pendingOffer: PendingOffer | null;
  /** Bindings retired but still lingering (mediaLingerMs); null when none. */
  lingering: MediaBinding[] | null;
}

/** An SDP offer held until its transaction's final response: only an accepted offer moves media. */
interface PendingOffer {
  method: string;
  cseq: number;
  side: number;
  sdp: SdpSession;
  /** Source address words of the message (NAT binding), null when unknown. */
  src: Uint32Array | null;
}

/** m= lines tracked per SDP; further ones are counted and ignored. */
export const MAX_MEDIA_PER_SIDE = 8;

/**
 * INVITE transactions of one attempt followed at once (a proxy forking wider is rare): the answer of a
 * fork beyond them, after the others failed, continues a call whose end was already final.
 */
const MAX_PENDING_INVITES = 8;

// Failures that do not end the attempt: the UAC retries with the same Call-ID (RFC 3261 22.2, 4028, 3261 14.1).
const RETRIED_STATUSES = new Set([401, 407, 422, 491, 494]);
// Methods whose SDP is an offer or answer (RFC 3264, 3262, 3311); OPTIONS 200 SDP is capabilities, not media.
const SDP_METHODS = new Set(['INVITE', 'ACK', 'PRACK', 'UPDATE']);

const B2B_SUFFIX = /_b2b-\d+$/;

/**
 * Why a SIP message was not used: the parser's reasons, and the TCP reassembler's (TcpLoss; its buffer,
 * CallTrackerOptions.maxTcpBuffer, is 64 KiB: more than a HEP packet carries).
 */
export type SipNotUsedReason = MalformedReason | TcpLoss | 'other-dialog';

export interface CallTrackerStats {
  sipMessages: number;
  sipUdp: number;
  sipTcp: number;
  keepalives: number;
  /** SIP datagrams and TCP segments the capture's snap length cut short: their bytes past the cut are not read. */
  snapCut: number;
  malformed: Record<SipNotUsedReason, number>;
  /**
   * UDP messages refused for their Content-Length alone (of malformed['bad-content-length']) that still went
   * to onMessage as captured: the capture agent heplify sends them and HOMER stores them.
   */
  malformedPassedOn: number;
  callsStarted: number;
  callsEnded: number;
  callsEvicted: number;
  /** Evictions by what the call was (CALL_EVICTION_KINDS; 'refused': new dialogs not tracked, not counted in callsEvicted). */
  callsEvictedByKind: Record<CallEvictionKind, number>;
  callsExpired: number;
  /** Re-offers answered with a final failure (e.g. a T.38 offer answered 488): media did not move. */
  offersRejected: number;
  bindingsCreated: number;
  bindingsRetired: number;
  bindingTableFull: number;
  /** An address that another binding owned was re-bound by a newer SDP (latest SDP wins, as in Wireshark). */
  keysTakenOver: number;
  /** An RTCP address (port+1 / a=rtcp) left to another binding that holds it as its RTP address. */
  rtcpKeysYielded: number;
  /** Messages for an unknown Call-ID that cannot start a call (REGISTER, OPTIONS, BYE of a missed call). */
  ignoredNoCall: number;
  ignoredAfterEnd: number;
  sdpWithoutAddress: number;
  sdpTooManyMedia: number;
  sdpUnparsable: number;
}

function noop(): void {}

export class CallTracker {
  readonly stats: CallTrackerStats;
  private readonly parser: SipParser;
  /** Every message is parsed into this one and handled before the next (see CallTrackerHooks.onMessage). */
  private readonly msg = new ParsedSipMessage();
  private readonly ports: SipPortSet;
  private readonly tcp: SipTcpReassembler;
  private readonly table: BindingTable;
  private readonly byCallId = new Map<string, number>();
  private readonly calls: Array<SipCall | null>;
  readonly maxCalls: number;
  private readonly maxAgeMs: number;
  private readonly idleMs: number;
  private readonly lingerMs: number;
  private readonly mediaLingerMs: number;
  private readonly natBindSource: boolean;
  // Each call slot sits in one of four activity lists (least recent first), by eviction class
  // (CLASS_*), and in one list by creation (max age).
  private readonly lists: IndexList[];
  private readonly classOf: Uint8Array;
  private readonly age: IndexList;
  // Retired bindings waiting out mediaLingerMs, in retirement order (= due order).
  private lingerQueue: MediaBinding[] = [];
  private lingerHead = 0;
  private readonly freeSlots: Int32Array;
  // Per call slot, its binding-id array, reused by the slot's next call (a typed array costs more to make than to clear).
  private readonly slotBindings: Array<Int32Array | null>;
  private freeTop: number;
  private readonly hookCallStart: (callIndex: number, callId: string) => void;
  private readonly hookCallEnd: (callIndex: number, reason: CallEndReason) => void;
  private readonly hookAnswered: (callIndex: number, nowMs: number) => void;
  private readonly hookResumed: (callIndex: number, nowMs: number) => void;
  private readonly hookBinding: (bindingId: number, ip0: number, ip1: number, ip2: number, ip3: number, port: number) => void;
  private readonly hookRetired: (bindingId: number, reason: BindingRetireReason) => void;
  private readonly hookUpdated: (bindingId: number) => void;
  private readonly hookMessage: CallTrackerHooks['onMessage'];
  private readonly hookEvicted: (kind: CallEvictionKind, callId: string) => void;
  private readonly hookTooLong: () => void;
  // The packet being consumed, for the TCP callback (bound once, no closure per packet).
  private curPkt: DecodedPacket | null = null;
  private curNowMs = 0;
  private readonly consumeStream: ConsumeFn;
  private readonly srcScratch = new Uint32Array(4);

  constructor(hooks: CallTrackerHooks = {}, o: CallTrackerOptions = {}) {
    this.maxCalls = Math.max(1, o.maxCalls ?? 10000);
    this.maxAgeMs = o.maxAgeMs ?? 4 * 3600_000;
    this.idleMs = o.idleMs ?? 3600_000;
    this.lingerMs = o.endedLingerMs ?? 30_000;
    this.mediaLingerMs = Math.max(0, o.mediaLingerMs ?? 3000);
    this.natBindSource = o.natBindSource ?? true;
    this.parser = new SipParser({ aLegHeaders: o.aLegHeaders ?? ['X-CID'] });
    this.ports = new SipPortSet(o.sipPorts ?? [5060, 5061]);
    this.tcp = new SipTcpReassembler(o.maxTcpConnections ?? 1024, o.maxTcpBuffer ?? 65536, (why) => this.stats.malformed[why]++);
    this.table = new BindingTable(o.maxBindings ?? this.maxCalls * 4);
    this.calls = new Array<SipCall | null>(this.maxCalls).fill(null);
    this.lists = [new IndexList(this.maxCalls), new IndexList(this.maxCalls), new IndexList(this.maxCalls), new IndexList(this.maxCalls)];
    this.classOf = new Uint8Array(this.maxCalls);
    this.age = new IndexList(this.maxCalls);
    this.freeSlots = new Int32Array(this.maxCalls);
    this.slotBindings = new Array<Int32Array | null>(this.maxCalls).fill(null);
    for (let i = 0; i < this.maxCalls; i++) this.freeSlots[i] = this.maxCalls - 1 - i;
    this.freeTop = this.maxCalls;
    this.hookCallStart = hooks.onCallStart ?? noop;
    this.hookCallEnd = hooks.onCallEnd ?? noop;
    this.hookAnswered = hooks.onCallAnswered ?? noop;
    this.hookResumed = hooks.onCallResumed ?? noop;
    this.hookBinding = hooks.onBinding ?? noop;
    this.hookRetired = hooks.onBindingRetired ?? noop;
    this.hookUpdated = hooks.onBindingUpdated ?? noop;
    this.hookMessage = hooks.onMessage;
    this.hookEvicted = hooks.onCallEvicted ?? noop;
    this.hookTooLong = hooks.onValueTooLong ?? noop;
    this.consumeStream = (buf, off, len, need) => this.streamMessage(buf, off, len, need);
    this.stats = {
      sipMessages: 0,
      sipUdp: 0,
      sipTcp: 0,
      keepalives: 0,
      snapCut: 0,
      malformedPassedOn: 0,
      malformed: {
        none: 0,
        incomplete: 0,
        'bad-start-line': 0,
        'no-header-end': 0,
        'missing-call-id': 0,
        'missing-cseq': 0,
        'bad-content-length': 0,
        'body-truncated': 0,
        'bad-sdp': 0,
        'bad-multipart': 0,
        'value-too-long': 0,
        'tcp-too-long': 0,
        'tcp-gap': 0,
        'tcp-desync': 0,
        'tcp-incomplete': 0,
        'other-dialog': 0,
      },
      callsStarted: 0,
      callsEnded: 0,
      callsEvicted: 0,
      callsEvictedByKind: { ended: 0, unanswered: 0, answered: 0, media: 0, refused: 0 },
      callsExpired: 0,
      offersRejected: 0,
      bindingsCreated: 0,
      bindingsRetired: 0,
      bindingTableFull: 0,
      keysTakenOver: 0,
      rtcpKeysYielded: 0,
      ignoredNoCall: 0,
      ignoredAfterEnd: 0,
      sdpWithoutAddress: 0,
      sdpTooManyMedia: 0,
      sdpUnparsable: 0,
    };
  }

  // ---------------------------------------------------------------- lookups (integrator side)

  /** Binding id for a media address (RTP or RTCP, SDP or NAT source address), -1 when none. Allocation-free. */
  findBinding(ip0: number, ip1: number, ip2: number, ip3: number, port: number): number {
    return this.table.find(ip0, ip1, ip2, ip3, port);
  }

  /** True when the address is bound as RTCP (a=rtcp or RTP port + 1); with rtcp-mux the RTP address serves both. */
  isRtcpAddress(ip0: number, ip1: number, ip2: number, ip3: number, port: number): boolean {
    return this.table.isRtcpKey(ip0, ip1, ip2, ip3, port);
  }

  /** The binding behind an id from findBinding/onBinding; null when retired. */
  binding(id: number): MediaBinding | null {
    return this.table.get(id);
  }

  call(callIndex: number): SipCall | null {
    return callIndex >= 0 && callIndex < this.maxCalls ? this.calls[callIndex] : null;
  }

  /** The call had SIP or media (touch()) less than `ms` before nowMs. */
  private activeWithin(callIndex: number, nowMs: number, ms: number): boolean {
    const c = this.call(callIndex);
    return c !== null && nowMs - c.lastMs < ms;
  }

  /** Answered (2xx, or first seen inside its dialog) and not ended. */
  callAnswered(callIndex: number): boolean {
    return this.call(callIndex)?.state === 'confirmed';
  }

  callIndexOf(callId: string): number {
    return this.byCallId.get(callId) ?? -1;
  }

  /** Index of the tracked A leg of a B2BUA B leg, -1 when not a B leg or the A leg is not tracked. */
  aLegIndexOf(callIndex: number): number {
    const c = this.call(callIndex);
    if (c === null || c.aLegCallId === '') return -1;
    return this.callIndexOf(c.aLegCallId);
  }

  /**
   * True when the call's current SDP exempts it from one-way and no-media alerts, which watch its audio:
   * it makes its audio flow one way or not at all by intent (an audio m-line on hold: sendonly, inactive,
   * c=0.0.0.0; or recvonly), or binds no audio the probe measures (MSRP or T.38 only, RTP over TCP, or no
   * SDP seen): no RTP is due. Video one way by intent (a side without a camera) exempts nothing.
   */
  mediaFaultsExemptBySdp(callIndex: number): boolean {
    const c = this.call(callIndex);
    if (c === null) return false;
    let audio = false;
    for (let i = 0; i < c.bindings.length; i++) {
      const b = this.table.get(c.bindings[i]);
      if (b === null || b.kind !== 'audio') continue;
      if (b.onHold || b.direction !== 'sendrecv') return true;
      audio = true;
    }
    return !audio;
  }

  get activeCalls(): number {
    return this.byCallId.size;
  }

  get activeBindings(): number {
    return this.table.size;
  }

  get tcpStats(): SipTcpReassembler['stats'] {
    return this.tcp.stats;
  }

  /** True when UDP/TCP on this port is SIP by configuration. */
  isSipPort(port: number): boolean {
    return this.ports.has(port);
  }

  /** Media of the call is still flowing: keeps the call from idle expiry. */
  touch(callIndex: number, nowMs: number): void {
    const c = this.call(callIndex);
    if (c === null || c.state === 'ended') return;
    c.lastMs = nowMs;
    c.hasMedia = true;
    this.activity(callIndex);
  }

  // ---------------------------------------------------------------- input

  /** Feeds one decoded packet; true when it was SIP (or SIP-port traffic) and has been consumed. */
  onPacket(pkt: DecodedPacket, nowMs: number): boolean {
    if (pkt.ipProto === 17) {
      if (!this.ports.isSipDatagram(pkt.srcPort, pkt.dstPort, pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) return false;
      if (pkt.payloadLength < pkt.payloadWireLength) this.stats.snapCut++;
      this.datagram(pkt, nowMs);
      return true;
    }
    if (pkt.ipProto === 6) {
      this.curPkt = pkt;
      this.curNowMs = nowMs;
      const sipPort = this.ports.has(pkt.srcPort) || this.ports.has(pkt.dstPort);
      const mine = this.tcp.segment(
        pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.srcPort, pkt.dstPort,
        pkt.tcpSeq, pkt.tcpFlags, pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength, sipPort, this.consumeStream,
      );
      this.curPkt = null;
      if ((mine || sipPort) && pkt.payloadLength < pkt.payloadWireLength) this.stats.snapCut++;
      return mine || sipPort;
    }
    return false;
  }

  private datagram(pkt: DecodedPacket, nowMs: number): void {
    const buf = pkt.payloadBuf;
    const off = pkt.payloadOffset;
    const len = Math.min(pkt.payloadLength, buf.length - off);
    let i = 0;
    while (i < len && (buf[off + i] === 13 || buf[off + i] === 10 || buf[off + i] === 0)) i++;
    if (i === len) {
      this.stats.keepalives++; // CRLF / NUL keep-alives (RFC 5626) and empty datagrams
      return;
    }
    const msg = this.parser.parse(buf, off + i, len - i, false, this.msg);
    this.stats.sipUdp++;
    this.countParse();
    if (msg === null) {
      // Not used for calls, but shown to HOMER as captured: the user debugging that call sees the message.
      // Over TCP such a message has no known end, and is not.
      if (this.parser.lastRefusedWhole && this.hookMessage !== undefined) {
        this.stats.malformedPassedOn++;
        this.hookMessage(this.msg, buf, off + i, len - i, pkt, nowMs);
      }
      return;
    }
    if (this.hookMessage !== undefined) this.hookMessage(msg, buf, off + i, len - i, pkt, nowMs);
    this.handle(msg, buf, pkt, nowMs);
  }

  private streamMessage(buf: Uint8Array, off: number, len: number, need: Int32Array): number {
    if (!looksLikeSip(buf, off, len)) {
      // Not at a start line: either too few bytes to tell yet, or the stream lost sync.
      return couldStartSip(buf, off, len) ? 0 : -1;
    }
    const msg = this.parser.parse(buf, off, len, true, this.msg);
    if (msg === null && this.parser.lastError === 'incomplete') {
      need[0] = this.parser.lastLength > 0 ? this.parser.lastLength : AWAIT_HEADER_END;
      return 0;
    }
    this.stats.sipTcp++;
    this.countParse();
    if (msg === null) return this.parser.lastLength > 0 ? this.parser.lastLength : -1;
    const pkt = this.curPkt;
    if (pkt !== null) {
      if (this.hookMessage !== undefined) this.hookMessage(msg, buf, off, msg.length, pkt, this.curNowMs);
      this.handle(msg, buf, pkt, this.curNowMs);
    }
    return msg.length;
  }

  private countParse(): void {
    this.stats.sipMessages++;
    const e = this.parser.lastError;
    if (e === 'none') return;
    this.stats.malformed[e]++;
    if (e === 'value-too-long') this.hookTooLong();
  }

  // ---------------------------------------------------------------- dialog logic

  /** `buf`: what `msg` was parsed from (its SDP is read there). */
  private handle(msg: SipMessage, buf: Uint8Array, pkt: DecodedPacket, nowMs: number): void {
    const method = msg.isRequest ? msg.method : msg.cseqMethod;
    let idx = this.byCallId.get(msg.callId) ?? -1;
    if (idx < 0) {
      const starts =
        (msg.isRequest && msg.method === 'INVITE') ||
        (!msg.isRequest && msg.cseqMethod === 'INVITE' && msg.statusCode < 300) ||
        (hasSdp(msg) && SDP_METHODS.has(method) && msg.statusCode < 300);
      if (!starts) {
        this.stats.ignoredNoCall++;
        return;
      }
      idx = this.startCall(msg, nowMs);
      if (idx < 0) return;
    }
    const call = this.calls[idx]!;
    // A final response closes its INVITE transaction, also after the call ended (the 487 after a CANCEL).
    if (!msg.isRequest && msg.statusCode >= 200 && msg.cseqMethod === 'INVITE' && msg.cseqNum === call.inviteCseq) {
      const at = call.pendingInvites.indexOf(msg.branch);
      if (at >= 0) call.pendingInvites.splice(at, 1);
    }
    if ((endsDialog(msg) || call.state === 'confirmed') && !inDialogOf(call, msg)) {
      this.stats.malformed['other-dialog']++;
      return;
    }
    if (call.state === 'ended') {
      if (!continuesEndedAttempt(call, msg)) {
        this.stats.ignoredAfterEnd++;
        return;
      }
      this.reopen(call);
    }
    call.lastMs = nowMs;

    const senderTag = msg.isRequest ? msg.fromTag : msg.toTag;
    const side = senderTag === call.callerTag ? 0 : 1;
    if (msg.userAgent !== '') call.userAgents[side] = msg.userAgent;
    if (msg.aLegId !== '' && call.xcid === '') {
      call.xcid = msg.aLegId;
      call.aLegCallId = msg.aLegId;
      this.refreshALeg(call);
    }

    if (msg.isRequest) {
      if (msg.method === 'INVITE' && call.state === 'early') {
        const pending = call.pendingInvites;
        if (msg.cseqNum !== call.inviteCseq) pending.length = 0; // a new attempt (auth retry): its own transactions
        call.inviteCseq = msg.cseqNum;
        if (msg.toTag === '' && pending.length < MAX_PENDING_INVITES && pending.indexOf(msg.branch) < 0) pending.push(msg.branch);
      }
    } else {
      if (msg.statusCode > 100) call.answered = true;
      if (msg.cseqMethod === 'INVITE') {
        if (call.inviteCseq < 0 && call.state === 'early') call.inviteCseq = msg.cseqNum;
        if (msg.statusCode >= 200 && msg.statusCode < 300 && call.state === 'early') {
          call.state = 'confirmed';
          call.answeredMs = nowMs;
          this.hookAnswered(idx, nowMs);
        }
      }
      const p = call.pendingOffer;
      if (p !== null && msg.statusCode >= 200 && msg.cseqNum === p.cseq && msg.cseqMethod === p.method) {
        // The re-offer's final response: accepted, it moves media (before the answer in this response
        // is applied, so the answer completes it); refused (488 to a T.38 offer...), nothing moves.
        call.pendingOffer = null;
        if (msg.statusCode < 300) this.applySdp(call, p.side, p.sdp, p.src, nowMs, false);
        else this.stats.offersRejected++;
      }
    }
    this.activity(idx);

    if (hasSdp(msg) && SDP_METHODS.has(method) && msg.statusCode < 300) this.onSdp(call, side, msg, buf, pkt, nowMs);

    if (msg.isRequest) {
      if (msg.method === 'BYE') this.endCall(idx, 'bye', 0, nowMs);
      // CANCEL ends only an attempt still unanswered: a cancelled re-INVITE (or a CANCEL crossing the
      // 2xx) leaves the confirmed dialog and its media as they were (RFC 3261 9.1, 14.1).
      else if (msg.method === 'CANCEL' && call.state === 'early') this.endCall(idx, 'cancel', 0, nowMs);
    } else if (msg.cseqMethod === 'BYE' && msg.statusCode >= 200 && msg.statusCode < 300) {
      this.endCall(idx, 'bye', 0, nowMs); // BYE itself was missed
    } else if (
      msg.cseqMethod === 'INVITE' &&
      msg.statusCode >= 300 &&
      call.state === 'early' &&
      msg.cseqNum === call.inviteCseq &&
      !RETRIED_STATUSES.has(msg.statusCode)
    ) {
      call.endTag = msg.toTag;
      this.endCall(idx, 'rejected', msg.statusCode, nowMs);
    }
  }

  /**
   * SDP of an offer or answer. A re-offer in a confirmed dialog (re-INVITE, UPDATE) waits for its 2xx;
   * anything else applies now (an initial offer sets up its address at once, as early media needs). An
   * answer (response, ACK, PRACK) completes the exchange: both ends of it become this call's.
   */
  private onSdp(call: SipCall, side: number, msg: SipMessage, buf: Uint8Array, pkt: DecodedPacket, nowMs: number): void {
    const sdp = msg.sdpEnd > msg.sdpStart ? parseSdpBytes(buf, msg.sdpStart, msg.sdpEnd, MAX_MEDIA_PER_SIDE) : parseSdp(msg.sdp, MAX_MEDIA_PER_SIDE);
    if (sdp === null) {
      this.stats.sdpUnparsable++;
      this.stats.malformed['bad-sdp']++;
      return;
    }
    if (side === 1) call.answered = true;
    let src: Uint32Array | null = null;
    if (pkt.ipVersion !== 0) {
      src = this.srcScratch; // copied by bind() only when the NAT binding uses it
      src[0] = pkt.src0;
      src[1] = pkt.src1;
      src[2] = pkt.src2;
      src[3] = pkt.src3;
    }
    if (msg.isRequest && (msg.method === 'INVITE' || msg.method === 'UPDATE') && call.state === 'confirmed') {
      call.pendingOffer = { method: msg.method, cseq: msg.cseqNum, side, sdp, src: src === null ? null : internAddress(src) };
      return;
    }
    const answer = !msg.isRequest || msg.method === 'ACK' || msg.method === 'PRACK';
    this.applySdp(call, side, sdp, src, nowMs, answer);
  }

  /** Eviction class of a live call from what it has seen. */
  private classOfCall(call: SipCall): number {
    if (call.state === 'ended') return CLASS_ENDED;
    if (call.hasMedia) return CLASS_MEDIA;
    return call.answered ? CLASS_ANSWERED : CLASS_UNANSWERED;
  }

  /** The call was active now: it goes to the tail of its class's list (changing list if its class changed). */
  private activity(idx: number): void {
    const cls = this.classOfCall(this.calls[idx]!);
    const old = this.classOf[idx];
    if (cls === old) {
      this.lists[cls].moveToTail(idx);
      return;
    }
    this.lists[old].unlink(idx);
    this.lists[cls].append(idx);
    this.classOf[idx] = cls;
  }

  private startCall(msg: SipMessage, nowMs: number): number {
    if (this.freeTop === 0 && !this.evictOne(nowMs)) {
      this.stats.callsEvictedByKind.refused++;
      this.hookEvicted('refused', msg.callId);
      return -1;
    }
    const idx = this.freeSlots[--this.freeTop];
    const b2b = msg.callId.includes('_b2b-') ? B2B_SUFFIX.exec(msg.callId) : null;
    // An in-dialog INVITE (To tag present) for an unknown call is a re-INVITE of a call whose start was
    // missed: treat it as confirmed so a failed re-INVITE does not end it.
    const inDialog = msg.isRequest && msg.toTag !== '';
    const call: SipCall = {
      index: idx,
      callId: msg.callId,
      state: inDialog ? 'confirmed' : 'early',
      createdMs: nowMs,
      lastMs: nowMs,
      endReason: null,
      endStatus: 0,
      endTag: '',
      callerTag: msg.fromTag,
      inviteCseq: -1,
      pendingInvites: [],
      xcid: '',
      aLegCallId: b2b ? msg.callId.slice(0, b2b.index) : '',
      userAgents: ['', ''],
      bindings: this.freshBindings(idx),
      answered: inDialog,
      answeredMs: 0,
      hasMedia: false,
      mediaExempt: true, // no SDP yet
      pendingOffer: null,
      lingering: null,
    };
    this.calls[idx] = call;
    this.byCallId.set(msg.callId, idx);
    const cls = this.classOfCall(call);
    this.classOf[idx] = cls;
    this.lists[cls].append(idx);
    this.age.append(idx);
    this.stats.callsStarted++;
    this.hookCallStart(idx, msg.callId);
    return idx;
  }

  /** The cleared binding-id array of call slot `idx` (a freed call's bindings are all -1 already). */
  private freshBindings(idx: number): Int32Array {
    let b = this.slotBindings[idx];
    if (b === null) this.slotBindings[idx] = b = new Int32Array(2 * MAX_MEDIA_PER_SIDE);
    b.fill(-1);
    return b;
  }

  /** Frees one slot for a new call: the least recently active of the lowest eviction class; false when none may go. */
  private evictOne(nowMs: number): boolean {
    let cls = CLASS_ENDED;
    while (cls < CLASS_MEDIA && this.lists[cls].head < 0) cls++;
    const victim = this.lists[cls].head;
    const call = this.calls[victim]!;
    if (cls === CLASS_MEDIA && this.activeWithin(victim, nowMs, MEDIA_PROTECT_MS)) return false;
    const kind = CALL_EVICTION_KINDS[cls];
    this.stats.callsEvicted++;
    this.stats.callsEvictedByKind[kind]++;
    if (call.state !== 'ended') this.endCall(victim, 'evicted', 0, nowMs);
    this.freeCall(victim);
    this.hookEvicted(kind, call.callId);
    return true;
  }

  private refreshALeg(call: SipCall): void {
    for (let i = 0; i < call.bindings.length; i++) {
      const b = this.table.get(call.bindings[i]);
      if (b !== null) {
        b.xcid = call.xcid;
        b.aLegCallId = call.aLegCallId;
        this.hookUpdated(b.id);
      }
    }
  }

  private applySdp(call: SipCall, side: number, sdp: SdpSession, src: Uint32Array | null, nowMs: number, answer: boolean): void {
    if (sdp.mediaLines > MAX_MEDIA_PER_SIDE) this.stats.sdpTooManyMedia++;
    const n = Math.min(sdp.media.length, MAX_MEDIA_PER_SIDE);
    for (let i = 0; i < n; i++) {
      const m = sdp.media[i];
      const slot = side * MAX_MEDIA_PER_SIDE + i;
      const other = (1 - side) * MAX_MEDIA_PER_SIDE + i;
      const existing = this.table.get(call.bindings[slot]);
      if (m.port === 0) {
        // Rejected or disabled stream (RFC 3264 6, 8.2): neither side sends it any more.
        if (existing !== null) this.retire(call, slot, 'rejected', nowMs);
        if (call.bindings[other] >= 0) this.retire(call, other, 'rejected', nowMs);
        continue;
      }
      const proto = m.proto.toUpperCase();
      if (proto.indexOf('RTP') < 0 || proto.startsWith('TCP/')) {
        // Not RTP over UDP (T.38 udptl, MSRP, RTP over TCP: RFC 4571), which the probe does not measure:
        // media of this m-line moved off what it measures.
        if (existing !== null) this.retire(call, slot, 'moved', nowMs);
        continue;
      }
      if (!m.hasIp) {
        this.stats.sdpWithoutAddress++;
        continue;
      }
      const hold = m.direction === 'sendonly' || m.direction === 'inactive';
      const transport = transportOf(sdp.media, i, n);
      if (isUnspecifiedAddress(m.ip[0], m.ip[1], m.ip[2], m.ip[3])) {
        // RFC 2543 hold (c=0.0.0.0): the media keeps its previous address, it is just not sent.
        if (existing !== null) {
          existing.direction = m.direction;
          existing.onHold = true;
          existing.updatedMs = nowMs;
          this.hookUpdated(existing.id);
        }
        continue;
      }
      if (
        existing !== null &&
        sameAddress(existing.ip, m.ip) &&
        existing.port === m.port &&
        existing.rtcpPort === m.rtcpPort &&
        sameAddress(existing.rtcpIp, m.rtcpIp ?? m.ip)
      ) {
        this.updateBinding(existing, m, transport, hold, call.userAgents[side], nowMs);
        this.claimAll(existing, nowMs); // named again: taken back if another leg's SDP took it meanwhile
      } else {
        if (existing !== null) this.retire(call, slot, 'moved', nowMs);
        this.bind(call, side, i, slot, m, transport, hold, src, nowMs);
      }
      // An answer completes the exchange: the offer's address is this call's too (both directions of
      // the media session under one Call-ID, whichever leg named the address last).
      if (answer) {
        const offered = this.table.get(call.bindings[other]);
        if (offered !== null) this.claimAll(offered, nowMs);
      }
    }
    for (let i = 0; i < n; i++) this.syncPeerHold(call, i, nowMs);
    const exempt = this.mediaFaultsExemptBySdp(call.index);
    if (call.mediaExempt && !exempt && call.state === 'confirmed') this.hookResumed(call.index, nowMs);
    call.mediaExempt = exempt;
  }

  /**
   * Each binding of m-line `i` learns whether the other side's SDP holds it (MediaBinding.peerHeld) and,
   * when this SDP took the m-line off hold, since when (resumedMs).
   */
  private syncPeerHold(call: SipCall, i: number, nowMs: number): void {
    const caller = this.table.get(call.bindings[i]);
    const callee = this.table.get(call.bindings[MAX_MEDIA_PER_SIDE + i]);
    // Held as last synced: each binding's peerHeld says whether the other side held it.
    const wasHeld = caller !== null && callee !== null && (caller.peerHeld || callee.peerHeld);
    const callerHolds = caller !== null && (caller.onHold || caller.direction !== 'sendrecv');
    const calleeHolds = callee !== null && (callee.onHold || callee.direction !== 'sendrecv');
    this.setPeerHeld(caller, calleeHolds);
    this.setPeerHeld(callee, callerHolds);
    if (wasHeld && !callerHolds && !calleeHolds) {
      caller.resumedMs = nowMs;
      callee.resumedMs = nowMs;
      this.hookUpdated(caller.id);
      this.hookUpdated(callee.id);
    }
  }

  private setPeerHeld(b: MediaBinding | null, held: boolean): void {
    if (b === null || b.peerHeld === held) return;
    b.peerHeld = held;
    this.hookUpdated(b.id);
  }

  private updateBinding(b: MediaBinding, m: SdpMedia, t: MediaTransport, hold: boolean, userAgent: string, nowMs: number): void {
    b.payloads = t.payloads;
    b.ptime = m.ptime;
    b.direction = m.direction;
    b.onHold = hold;
    b.rtcpMux = m.rtcpMux;
    b.srtp = m.secure;
    if (userAgent !== '') b.userAgent = userAgent;
    b.kind = t.kind;
    b.nonAudioPayloads = t.nonAudioPayloads;
    b.updatedMs = nowMs;
    this.hookUpdated(b.id);
  }

  private bind(call: SipCall, side: number, mediaIndex: number, slot: number, m: SdpMedia, t: MediaTransport, hold: boolean, src: Uint32Array | null, nowMs: number): void {
    let natIp: Uint32Array | null = null;
    if (this.natBindSource && src !== null && isPrivateAddress(m.ip[0], m.ip[1], m.ip[2], m.ip[3]) && !sameAddress(src, m.ip)) natIp = internAddress(src);
    // Made before its id is known (add gives it): a closure making it would be an allocation of its own.
    const b = this.table.add({
      id: -1,
      callIndex: call.index,
      callId: call.callId,
      aLegCallId: call.aLegCallId,
      xcid: call.xcid,
      otherLegCallId: '',
      side,
      mediaIndex,
      kind: t.kind,
      nonAudioPayloads: t.nonAudioPayloads,
      ip: m.ip,
      port: m.port,
      rtcpIp: m.rtcpIp ?? m.ip,
      rtcpPort: m.rtcpPort,
      rtcpMux: m.rtcpMux,
      srtp: m.secure,
      natIp,
      payloads: t.payloads,
      ptime: m.ptime,
      direction: m.direction,
      onHold: hold,
      peerHeld: false, // set by syncPeerHold once the SDP is applied
      resumedMs: 0,
      userAgent: call.userAgents[side],
      createdMs: nowMs,
      updatedMs: nowMs,
      retireAtMs: 0,
      retireReason: 'moved',
    });
    if (b === null) {
      this.stats.bindingTableFull++;
      return;
    }
    call.bindings[slot] = b.id;
    this.stats.bindingsCreated++;
    this.claimAll(b, nowMs);
  }

  /** Points every address of the binding at it: SDP addresses taken from any other binding, NAT guesses only where free. */
  private claimAll(b: MediaBinding, nowMs: number): void {
    this.claim(b, b.ip, b.port, true, false, nowMs);
    if (b.rtcpPort > 0 && (b.rtcpPort !== b.port || !sameAddress(b.rtcpIp, b.ip))) this.claim(b, b.rtcpIp, b.rtcpPort, true, true, nowMs);
    const natIp = b.natIp;
    if (natIp !== null) {
      // A guessed address never takes an address another SDP named explicitly.
      this.claim(b, natIp, b.port, false, false, nowMs);
      if (b.rtcpPort > 0 && b.rtcpPort !== b.port) this.claim(b, natIp, b.rtcpPort, false, true, nowMs);
    }
  }

  private claim(b: MediaBinding, ip: Uint32Array, port: number, steal: boolean, rtcp: boolean, nowMs: number): void {
    if (!steal && this.table.find(ip[0], ip[1], ip[2], ip[3], port) >= 0) return;
    const old = this.table.setKey(ip, port, b.id, rtcp);
    if (old === -2) {
      this.stats.rtcpKeysYielded++;
      return;
    }
    if (old === b.id) return; // already ours: nothing changed for the integrator
    const from = old >= 0 ? this.table.get(old) : null;
    if (old >= 0) this.stats.keysTakenOver++;
    // Another leg (B2BUA, a proxy re-using the SDP) named the same address: carry its Call-ID. Not from a
    // call idle for OTHER_LEG_IDLE_MS: that one is over (its BYE missed), and a new call reusing its ports
    // is no leg of it.
    if (from !== null && !this.isLingering(from) && from.callId !== b.callId && b.otherLegCallId === '' && this.activeWithin(from.callIndex, nowMs, OTHER_LEG_IDLE_MS)) {
      b.otherLegCallId = from.callId;
      this.hookUpdated(b.id);
    }
    this.hookBinding(b.id, ip[0], ip[1], ip[2], ip[3], port);
    // Media of an ended call (or moved away) lingers for packets in flight; a newer SDP naming its address
    // (a media server reusing the port for the next call, maybe with the same SSRC) means what arrives
    // now is the new SDP's: the old streams end here instead of taking its first packets. After the new
    // binding is announced, so that streams a late binding re-matches (worker mode) are not ended with them.
    if (from !== null && this.isLingering(from)) this.retireLingering(from);
  }

  /**
   * The binding stops being the call's media: it leaves the call now and stops correlating after
   * mediaLingerMs of capture time (trailing RTP/RTCP of a BYE or a move still joins its stream);
   * nowMs < 0: at once.
   */
  private retire(call: SipCall, slot: number, reason: BindingRetireReason, nowMs: number): void {
    const id = call.bindings[slot];
    call.bindings[slot] = -1;
    const b = this.table.get(id);
    if (b === null) return;
    if (this.mediaLingerMs === 0 || nowMs < 0) {
      this.finishRetire(b, reason);
      return;
    }
    b.retireAtMs = nowMs + this.mediaLingerMs;
    b.retireReason = reason;
    (call.lingering ??= []).push(b);
    this.lingerQueue.push(b);
  }

  private finishRetire(b: MediaBinding, reason: BindingRetireReason): void {
    const id = b.id;
    this.table.removeKey(b.ip, b.port, id);
    if (b.rtcpPort > 0) this.table.removeKey(b.rtcpIp, b.rtcpPort, id);
    if (b.natIp !== null) {
      this.table.removeKey(b.natIp, b.port, id);
      if (b.rtcpPort > 0) this.table.removeKey(b.natIp, b.rtcpPort, id);
    }
    b.retireAtMs = -1;
    this.stats.bindingsRetired++;
    this.hookRetired(id, reason);
    this.table.release(id);
  }

  /** True when `b` is a lingering binding still in the table. */
  private isLingering(b: MediaBinding): boolean {
    return b.retireAtMs > 0 && this.table.get(b.id) === b;
  }

  /** A lingering binding stops correlating now (its time came, or a newer SDP took its address). */
  private retireLingering(b: MediaBinding): void {
    const list = this.calls[b.callIndex]?.lingering;
    if (list) list.splice(list.indexOf(b), 1);
    this.finishRetire(b, b.retireReason);
  }

  /** Capture time at which the next lingering media is due to retire (retireDue); Infinity when none. */
  nextRetireMs(): number {
    return this.lingerHead < this.lingerQueue.length ? this.lingerQueue[this.lingerHead].retireAtMs : Number.POSITIVE_INFINITY;
  }

  /** Retires lingering bindings whose time has come. */
  private retireDue(nowMs: number): void {
    const q = this.lingerQueue;
    while (this.lingerHead < q.length && q[this.lingerHead].retireAtMs <= nowMs) {
      const b = q[this.lingerHead++];
      if (this.isLingering(b)) this.retireLingering(b);
    }
    if (this.lingerHead > 1024 && this.lingerHead * 2 > q.length) {
      this.lingerQueue = q.slice(this.lingerHead);
      this.lingerHead = 0;
    }
  }

  private endCall(idx: number, reason: CallEndReason, status: number, nowMs: number): void {
    const call = this.calls[idx]!;
    if (call.state === 'ended') return;
    call.pendingOffer = null;
    // Only a call that ended by signalling waits for media in flight; evicted and expired calls are
    // freed at once (and their media was idle or must make room).
    const signalled = reason === 'bye' || reason === 'cancel' || reason === 'rejected';
    for (let s = 0; s < call.bindings.length; s++) if (call.bindings[s] >= 0) this.retire(call, s, 'call-end', signalled ? nowMs : -1);
    call.state = 'ended';
    call.endReason = reason;
    call.endStatus = status;
    call.lastMs = nowMs;
    this.activity(idx);
    this.stats.callsEnded++;
    this.hookCallEnd(idx, reason);
  }

  /**
   * The attempt a failure or CANCEL ended goes on (see continuesEndedAttempt): it is live again and its
   * media bindings still lingering are its own again.
   */
  private reopen(call: SipCall): void {
    call.state = 'early';
    call.endReason = null;
    call.endStatus = 0;
    call.endTag = '';
    const lingering = call.lingering;
    if (lingering === null) return;
    for (let i = lingering.length - 1; i >= 0; i--) {
      const b = lingering[i];
      if (!this.isLingering(b) || b.retireReason !== 'call-end') continue;
      const slot = b.side * MAX_MEDIA_PER_SIDE + b.mediaIndex;
      if (call.bindings[slot] >= 0) continue;
      // Out of the linger queue too: retired again later, it queues again at its new time (the queue
      // stays in due order).
      const at = this.lingerQueue.indexOf(b, this.lingerHead);
      if (at >= 0) this.lingerQueue.splice(at, 1);
      b.retireAtMs = 0;
      call.bindings[slot] = b.id;
      lingering.splice(i, 1);
    }
  }

  private freeCall(idx: number): void {
    const call = this.calls[idx]!;
    // Its slot is about to be reused: lingering bindings (which name the slot) retire now.
    if (call.lingering !== null) for (const b of call.lingering) if (this.isLingering(b)) this.finishRetire(b, b.retireReason);
    call.lingering = null;
    if (this.byCallId.get(call.callId) === idx) this.byCallId.delete(call.callId);
    this.lists[this.classOf[idx]].unlink(idx);
    this.age.unlink(idx);
    this.calls[idx] = null;
    this.freeSlots[this.freeTop++] = idx;
  }

  /**
   * Retires lingering media, ends calls idle longer than idleMs or older than maxAgeMs, and forgets ended
   * calls after their linger time. Driven by capture time; call it about once a second.
   */
  expire(nowMs: number): void {
    this.retireDue(nowMs);
    // Oldest by creation first: max age.
    while (this.age.head >= 0) {
      const c = this.calls[this.age.head]!;
      if (nowMs - c.createdMs < this.maxAgeMs) break;
      if (c.state !== 'ended') {
        this.stats.callsExpired++;
        this.endCall(c.index, 'max-age', 0, nowMs);
      }
      this.freeCall(c.index);
    }
    // Ended calls past their linger, then each live class least recently active first.
    const ended = this.lists[CLASS_ENDED];
    while (ended.head >= 0 && nowMs - this.calls[ended.head]!.lastMs >= this.lingerMs) this.freeCall(ended.head);
    for (let cls = CLASS_UNANSWERED; cls <= CLASS_MEDIA; cls++) {
      const list = this.lists[cls];
      while (list.head >= 0) {
        const c = this.calls[list.head]!;
        if (nowMs - c.lastMs < this.idleMs) break;
        this.stats.callsExpired++;
        this.endCall(c.index, 'idle-timeout', 0, nowMs);
        this.freeCall(c.index); // it was idle for idleMs already: no need to linger
      }
    }
  }

  /** End of input: lingering media retires now with its own reason (nothing more can join it). */
  settle(): void {
    this.retireDue(Number.POSITIVE_INFINITY);
  }

  /** Ends every call (shutdown): hooks fire so final reports can be sent. */
  endAll(nowMs: number): void {
    while (this.age.head >= 0) {
      const idx = this.age.head;
      if (this.calls[idx]!.state !== 'ended') this.endCall(idx, 'evicted', 0, nowMs);
      this.freeCall(idx);
    }
    this.lingerQueue = [];
    this.lingerHead = 0;
  }
}

/** The message carries SDP: as a string (taken out of a multipart body) or where it lies in the input. */
function hasSdp(msg: SipMessage): boolean {
  return msg.sdp !== '' || msg.sdpEnd > msg.sdpStart;
}

/**
 * A call a failure response or a CANCEL ended may still go on (continuesEndedAttempt) while an INVITE
 * transaction of its attempt has no final response yet: another fork may still answer, or the answer may
 * cross the CANCEL. Once none is left its end is final (the proxy has given up on every target it tried);
 * so is it once the tracker forgets the call (endedLingerMs) when a final response was never seen.
 */
export function endMayBeUndone(call: { endReason: string | null; pendingInvites: readonly unknown[] }): boolean {
  return endedByAttempt(call.endReason) && call.pendingInvites.length > 0;
}

/** A BYE, its 2xx (the BYE itself missed) or a CANCEL (whose From, tag included, is its INVITE's: RFC 3261 9.1): each ends the call. */
function endsDialog(msg: SipMessage): boolean {
  if (msg.isRequest) return msg.method === 'BYE' || msg.method === 'CANCEL';
  return msg.cseqMethod === 'BYE' && msg.statusCode >= 200 && msg.statusCode < 300;
}

/**
 * Whether `msg` belongs to the call's dialog: one of its tags is the caller's (every message of a dialog,
 * from either side, carries it as From or To tag). A BYE, CANCEL, re-INVITE or 200 with tags of its own
 * (forged for a Call-ID seen on the mirror port) is refused by the UA (481, RFC 3261 12.2.2) and the call
 * goes on, so it must neither end the call nor move its media here. Checked for a BYE or CANCEL always and
 * for anything once the call is confirmed; an early call takes what comes (forks, a B2BUA's legs). A
 * caller without a tag (RFC 2543) leaves nothing to match.
 */
function inDialogOf(call: SipCall, msg: SipMessage): boolean {
  return call.callerTag === '' || msg.fromTag === call.callerTag || msg.toTag === call.callerTag;
}

/** Ended by a failure response or a CANCEL: a later answer or a new INVITE may continue the attempt. */
function endedByAttempt(endReason: string | null): boolean {
  return endReason === 'rejected' || endReason === 'cancel';
}

/**
 * The call attempt a failure response or a CANCEL ended goes on: a 2xx to its INVITE (another fork
 * answered, or the answer crossed the CANCEL: RFC 3261 9.1, 16.7); after a failure, also a provisional
 * from another early dialog (a parallel fork still ringing) or a new INVITE outside the dialog (a proxy
 * trying the next target, or the caller retrying with the same Call-ID: RFC 3261 8.1.3.5, 16.6).
 */
function continuesEndedAttempt(call: SipCall, msg: SipMessage): boolean {
  if (!endedByAttempt(call.endReason)) return false;
  const failed = call.endReason === 'rejected';
  if (msg.isRequest) return failed && msg.method === 'INVITE' && msg.toTag === '' && msg.cseqNum >= call.inviteCseq;
  if (msg.cseqMethod !== 'INVITE' || msg.cseqNum !== call.inviteCseq || msg.statusCode >= 300) return false;
  if (msg.statusCode >= 200) return true;
  return failed && msg.statusCode > 100 && msg.toTag !== '' && msg.toTag !== call.endTag;
}

