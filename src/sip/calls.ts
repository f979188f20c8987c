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
import { isPrivateAddress, isUnspecifiedAddress } from './ip.js';
import { type MalformedReason, SipParser, type SipMessage } from './message.js';
import { parseSdp, type SdpMedia } from './sdp.js';
import { SipTcpReassembler } from './tcp.js';
import { IndexList } from './index-list.js';

export type CallEndReason = 'bye' | 'cancel' | 'rejected' | 'idle-timeout' | 'max-age' | 'evicted';
export type BindingRetireReason = 'moved' | 'rejected' | 'call-end';

export interface CallTrackerHooks {
  onCallStart?: (callIndex: number, callId: string) => void;
  onCallEnd?: (callIndex: number, reason: CallEndReason) => void;
  /** Once per bound address (RTP, RTCP, NAT source): lets the integrator attach streams already running. */
  onBinding?: (bindingId: number, ip0: number, ip1: number, ip2: number, ip3: number, port: number) => void;
  /** The binding stops correlating (its id may be reused afterwards). */
  onBindingRetired?: (bindingId: number, reason: BindingRetireReason) => void;
  /** A live binding's fields changed in place (re-offer with the same address, hold, A-leg id learned). */
  onBindingUpdated?: (bindingId: number) => void;
  /**
   * Every SIP message parsed (UDP datagram or one message of a reassembled TCP stream), before the dialog
   * logic: its bytes are buf[off, off + len), `pkt` the packet that completed it. For the outputs (HEP type 1).
   */
  onMessage?: (msg: SipMessage, buf: Uint8Array, off: number, len: number, pkt: DecodedPacket, nowMs: number) => void;
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
  /** From tag of the first message seen: identifies side 0. */
  callerTag: string;
  /** CSeq number of the current initial INVITE (auth retries raise it). */
  inviteCseq: number;
  /** X-CID (or configured header) value, '' if none seen. */
  xcid: string;
  /** A-leg Call-ID: xcid, or this Call-ID without a `_b2b-N` suffix, '' when not a B leg. */
  aLegCallId: string;
  /** User-Agent/Server per side. */
  userAgents: [string, string];
  /** Binding id per side x m-line index, -1 when none. */
  bindings: Int32Array;
}

/** m= lines tracked per SDP; further ones are counted and ignored. */
export const MAX_MEDIA_PER_SIDE = 8;

// Failures that do not end the attempt: the UAC retries with the same Call-ID (RFC 3261 22.2, 4028, 3261 14.1).
const RETRIED_STATUSES = new Set([401, 407, 422, 491, 494]);
// Methods whose SDP is an offer or answer (RFC 3264, 3262, 3311); OPTIONS 200 SDP is capabilities, not media.
const SDP_METHODS = new Set(['INVITE', 'ACK', 'PRACK', 'UPDATE']);

const B2B_SUFFIX = /_b2b-\d+$/;

export interface CallTrackerStats {
  sipMessages: number;
  sipUdp: number;
  sipTcp: number;
  keepalives: number;
  malformed: Record<MalformedReason, number>;
  callsStarted: number;
  callsEnded: number;
  callsEvicted: number;
  callsExpired: number;
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
  private readonly ports: SipPortSet;
  private readonly tcp: SipTcpReassembler;
  private readonly table: BindingTable;
  private readonly byCallId = new Map<string, number>();
  private readonly calls: Array<SipCall | null>;
  readonly maxCalls: number;
  private readonly maxAgeMs: number;
  private readonly idleMs: number;
  private readonly lingerMs: number;
  private readonly natBindSource: boolean;
  // Two lists over call slots: by last activity (LRU) and by creation (age).
  private readonly lru: IndexList;
  private readonly age: IndexList;
  private readonly freeSlots: Int32Array;
  private freeTop: number;
  private readonly hookCallStart: (callIndex: number, callId: string) => void;
  private readonly hookCallEnd: (callIndex: number, reason: CallEndReason) => void;
  private readonly hookBinding: (bindingId: number, ip0: number, ip1: number, ip2: number, ip3: number, port: number) => void;
  private readonly hookRetired: (bindingId: number, reason: BindingRetireReason) => void;
  private readonly hookUpdated: (bindingId: number) => void;
  private readonly hookMessage: CallTrackerHooks['onMessage'];
  // The packet being consumed, for the TCP callback (bound once, no closure per packet).
  private curPkt: DecodedPacket | null = null;
  private curNowMs = 0;
  private readonly consumeStream: (buf: Uint8Array, off: number, len: number) => number;
  private readonly natScratch = new Uint32Array(4);

  constructor(hooks: CallTrackerHooks = {}, o: CallTrackerOptions = {}) {
    this.maxCalls = Math.max(1, o.maxCalls ?? 10000);
    this.maxAgeMs = o.maxAgeMs ?? 4 * 3600_000;
    this.idleMs = o.idleMs ?? 3600_000;
    this.lingerMs = o.endedLingerMs ?? 30_000;
    this.natBindSource = o.natBindSource ?? true;
    this.parser = new SipParser({ aLegHeaders: o.aLegHeaders ?? ['X-CID'] });
    this.ports = new SipPortSet(o.sipPorts ?? [5060, 5061]);
    this.tcp = new SipTcpReassembler(o.maxTcpConnections ?? 1024, o.maxTcpBuffer ?? 65536);
    this.table = new BindingTable(o.maxBindings ?? this.maxCalls * 4);
    this.calls = new Array<SipCall | null>(this.maxCalls).fill(null);
    this.lru = new IndexList(this.maxCalls);
    this.age = new IndexList(this.maxCalls);
    this.freeSlots = new Int32Array(this.maxCalls);
    for (let i = 0; i < this.maxCalls; i++) this.freeSlots[i] = this.maxCalls - 1 - i;
    this.freeTop = this.maxCalls;
    this.hookCallStart = hooks.onCallStart ?? noop;
    this.hookCallEnd = hooks.onCallEnd ?? noop;
    this.hookBinding = hooks.onBinding ?? noop;
    this.hookRetired = hooks.onBindingRetired ?? noop;
    this.hookUpdated = hooks.onBindingUpdated ?? noop;
    this.hookMessage = hooks.onMessage;
    this.consumeStream = (buf, off, len) => this.streamMessage(buf, off, len);
    this.stats = {
      sipMessages: 0,
      sipUdp: 0,
      sipTcp: 0,
      keepalives: 0,
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
      },
      callsStarted: 0,
      callsEnded: 0,
      callsEvicted: 0,
      callsExpired: 0,
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

  callIndexOf(callId: string): number {
    return this.byCallId.get(callId) ?? -1;
  }

  /** Index of the tracked A leg of a B2BUA B leg, -1 when not a B leg or the A leg is not tracked. */
  aLegIndexOf(callIndex: number): number {
    const c = this.call(callIndex);
    if (c === null || c.aLegCallId === '') return -1;
    return this.callIndexOf(c.aLegCallId);
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
    this.lru.moveToTail(callIndex);
  }

  // ---------------------------------------------------------------- input

  /** Feeds one decoded packet; true when it was SIP (or SIP-port traffic) and has been consumed. */
  onPacket(pkt: DecodedPacket, nowMs: number): boolean {
    if (pkt.ipProto === 17) {
      if (!this.ports.isSipDatagram(pkt.srcPort, pkt.dstPort, pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) return false;
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
    const msg = this.parser.parse(buf, off + i, len - i, false);
    this.stats.sipUdp++;
    this.countParse();
    if (msg === null) return;
    if (this.hookMessage !== undefined) this.hookMessage(msg, buf, off + i, len - i, pkt, nowMs);
    this.handle(msg, pkt, nowMs);
  }

  private streamMessage(buf: Uint8Array, off: number, len: number): number {
    if (!looksLikeSip(buf, off, len)) {
      // Not at a start line: either too few bytes to tell yet, or the stream lost sync.
      return couldStartSip(buf, off, len) ? 0 : -1;
    }
    const msg = this.parser.parse(buf, off, len, true);
    if (msg === null && this.parser.lastError === 'incomplete') return 0;
    this.stats.sipTcp++;
    this.countParse();
    if (msg === null) return this.parser.lastLength > 0 ? this.parser.lastLength : -1;
    const pkt = this.curPkt;
    if (pkt !== null) {
      if (this.hookMessage !== undefined) this.hookMessage(msg, buf, off, msg.length, pkt, this.curNowMs);
      this.handle(msg, pkt, this.curNowMs);
    }
    return msg.length;
  }

  private countParse(): void {
    this.stats.sipMessages++;
    const e = this.parser.lastError;
    if (e !== 'none') this.stats.malformed[e]++;
  }

  // ---------------------------------------------------------------- dialog logic

  private handle(msg: SipMessage, pkt: DecodedPacket, nowMs: number): void {
    const method = msg.isRequest ? msg.method : msg.cseqMethod;
    let idx = this.byCallId.get(msg.callId) ?? -1;
    if (idx < 0) {
      const starts =
        (msg.isRequest && msg.method === 'INVITE') ||
        (!msg.isRequest && msg.cseqMethod === 'INVITE' && msg.statusCode < 300) ||
        (msg.sdp !== '' && SDP_METHODS.has(method) && msg.statusCode < 300);
      if (!starts) {
        this.stats.ignoredNoCall++;
        return;
      }
      idx = this.startCall(msg, nowMs);
    }
    const call = this.calls[idx]!;
    if (call.state === 'ended') {
      this.stats.ignoredAfterEnd++;
      return;
    }
    call.lastMs = nowMs;
    this.lru.moveToTail(idx);

    const senderTag = msg.isRequest ? msg.fromTag : msg.toTag;
    const side = senderTag === call.callerTag ? 0 : 1;
    if (msg.userAgent !== '') call.userAgents[side] = msg.userAgent;
    if (msg.aLegId !== '' && call.xcid === '') {
      call.xcid = msg.aLegId;
      call.aLegCallId = msg.aLegId;
      this.refreshALeg(call);
    }

    if (msg.isRequest) {
      if (msg.method === 'INVITE' && call.state === 'early') call.inviteCseq = msg.cseqNum;
    } else if (msg.cseqMethod === 'INVITE') {
      if (call.inviteCseq < 0 && call.state === 'early') call.inviteCseq = msg.cseqNum;
      if (msg.statusCode >= 200 && msg.statusCode < 300) call.state = 'confirmed';
    }

    if (msg.sdp !== '' && SDP_METHODS.has(method) && msg.statusCode < 300) this.applySdp(call, side, msg, pkt, nowMs);

    if (msg.isRequest) {
      if (msg.method === 'BYE') this.endCall(idx, 'bye', 0, nowMs);
      else if (msg.method === 'CANCEL') this.endCall(idx, 'cancel', 0, nowMs);
    } else if (msg.cseqMethod === 'BYE' && msg.statusCode >= 200 && msg.statusCode < 300) {
      this.endCall(idx, 'bye', 0, nowMs); // BYE itself was missed
    } else if (
      msg.cseqMethod === 'INVITE' &&
      msg.statusCode >= 300 &&
      call.state === 'early' &&
      msg.cseqNum === call.inviteCseq &&
      !RETRIED_STATUSES.has(msg.statusCode)
    ) {
      this.endCall(idx, 'rejected', msg.statusCode, nowMs);
    }
  }

  private startCall(msg: SipMessage, nowMs: number): number {
    if (this.freeTop === 0) {
      const victim = this.lru.head;
      this.stats.callsEvicted++;
      if (this.calls[victim]!.state !== 'ended') this.endCall(victim, 'evicted', 0, nowMs);
      this.freeCall(victim);
    }
    const idx = this.freeSlots[--this.freeTop];
    const b2b = B2B_SUFFIX.exec(msg.callId);
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
      callerTag: msg.fromTag,
      inviteCseq: -1,
      xcid: '',
      aLegCallId: b2b ? msg.callId.slice(0, b2b.index) : '',
      userAgents: ['', ''],
      bindings: new Int32Array(2 * MAX_MEDIA_PER_SIDE).fill(-1),
    };
    this.calls[idx] = call;
    this.byCallId.set(msg.callId, idx);
    this.lru.append(idx);
    this.age.append(idx);
    this.stats.callsStarted++;
    this.hookCallStart(idx, msg.callId);
    return idx;
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

  private applySdp(call: SipCall, side: number, msg: SipMessage, pkt: DecodedPacket, nowMs: number): void {
    const sdp = parseSdp(msg.sdp);
    if (sdp === null) {
      this.stats.sdpUnparsable++;
      this.stats.malformed['bad-sdp']++;
      return;
    }
    if (sdp.media.length > MAX_MEDIA_PER_SIDE) this.stats.sdpTooManyMedia++;
    const n = Math.min(sdp.media.length, MAX_MEDIA_PER_SIDE);
    for (let i = 0; i < n; i++) {
      const m = sdp.media[i];
      const slot = side * MAX_MEDIA_PER_SIDE + i;
      const existing = this.table.get(call.bindings[slot]);
      if (m.port === 0) {
        // Rejected or disabled stream (RFC 3264 6, 8.2): neither side sends it any more.
        if (existing !== null) this.retire(call, slot, 'rejected');
        const other = (1 - side) * MAX_MEDIA_PER_SIDE + i;
        if (call.bindings[other] >= 0) this.retire(call, other, 'rejected');
        continue;
      }
      if (m.proto.toUpperCase().indexOf('RTP') < 0) {
        // Not RTP (T.38 udptl, MSRP...): media of this m-line moved off RTP.
        if (existing !== null) this.retire(call, slot, 'moved');
        continue;
      }
      if (!m.hasIp) {
        this.stats.sdpWithoutAddress++;
        continue;
      }
      const hold = m.direction === 'sendonly' || m.direction === 'inactive';
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
        this.updateBinding(existing, m, hold, call.userAgents[side], nowMs);
        continue;
      }
      if (existing !== null) this.retire(call, slot, 'moved');
      this.bind(call, side, i, slot, m, hold, pkt, nowMs);
    }
  }

  private updateBinding(b: MediaBinding, m: SdpMedia, hold: boolean, userAgent: string, nowMs: number): void {
    b.payloads = m.payloads;
    fillClockRates(b.clockRates, m);
    b.ptime = m.ptime;
    b.direction = m.direction;
    b.onHold = hold;
    b.rtcpMux = m.rtcpMux;
    if (userAgent !== '') b.userAgent = userAgent;
    b.kind = m.kind;
    b.updatedMs = nowMs;
    this.hookUpdated(b.id);
  }

  private bind(call: SipCall, side: number, mediaIndex: number, slot: number, m: SdpMedia, hold: boolean, pkt: DecodedPacket, nowMs: number): void {
    let natIp: Uint32Array | null = null;
    if (this.natBindSource && isPrivateAddress(m.ip[0], m.ip[1], m.ip[2], m.ip[3])) {
      const s = this.natScratch;
      s[0] = pkt.src0;
      s[1] = pkt.src1;
      s[2] = pkt.src2;
      s[3] = pkt.src3;
      if (!sameAddress(s, m.ip) && pkt.ipVersion !== 0) natIp = Uint32Array.from(s);
    }
    const b = this.table.add((id) => ({
      id,
      callIndex: call.index,
      callId: call.callId,
      aLegCallId: call.aLegCallId,
      xcid: call.xcid,
      side,
      mediaIndex,
      kind: m.kind,
      ip: m.ip,
      port: m.port,
      rtcpIp: m.rtcpIp ?? m.ip,
      rtcpPort: m.rtcpPort,
      rtcpMux: m.rtcpMux,
      natIp,
      payloads: m.payloads,
      clockRates: new Int32Array(128),
      ptime: m.ptime,
      direction: m.direction,
      onHold: hold,
      userAgent: call.userAgents[side],
      createdMs: nowMs,
      updatedMs: nowMs,
    }));
    if (b === null) {
      this.stats.bindingTableFull++;
      return;
    }
    fillClockRates(b.clockRates, m);
    call.bindings[slot] = b.id;
    this.stats.bindingsCreated++;
    this.claim(b, m.ip, m.port, true, false);
    if (m.rtcpPort > 0 && (m.rtcpPort !== m.port || !sameAddress(b.rtcpIp, m.ip))) this.claim(b, b.rtcpIp, m.rtcpPort, true, true);
    if (natIp !== null) {
      // A guessed address never takes an address another SDP named explicitly.
      this.claim(b, natIp, m.port, false, false);
      if (m.rtcpPort > 0 && m.rtcpPort !== m.port) this.claim(b, natIp, m.rtcpPort, false, true);
    }
  }

  private claim(b: MediaBinding, ip: Uint32Array, port: number, steal: boolean, rtcp: boolean): void {
    if (!steal && this.table.find(ip[0], ip[1], ip[2], ip[3], port) >= 0) return;
    const old = this.table.setKey(ip, port, b.id, rtcp);
    if (old === -2) {
      this.stats.rtcpKeysYielded++;
      return;
    }
    if (old >= 0 && old !== b.id) this.stats.keysTakenOver++;
    this.hookBinding(b.id, ip[0], ip[1], ip[2], ip[3], port);
  }

  private retire(call: SipCall, slot: number, reason: BindingRetireReason): void {
    const id = call.bindings[slot];
    call.bindings[slot] = -1;
    const b = this.table.get(id);
    if (b === null) return;
    this.table.removeKey(b.ip, b.port, id);
    if (b.rtcpPort > 0) this.table.removeKey(b.rtcpIp, b.rtcpPort, id);
    if (b.natIp !== null) {
      this.table.removeKey(b.natIp, b.port, id);
      if (b.rtcpPort > 0) this.table.removeKey(b.natIp, b.rtcpPort, id);
    }
    this.stats.bindingsRetired++;
    this.hookRetired(id, reason);
    this.table.release(id);
  }

  private endCall(idx: number, reason: CallEndReason, status: number, nowMs: number): void {
    const call = this.calls[idx]!;
    if (call.state === 'ended') return;
    for (let s = 0; s < call.bindings.length; s++) if (call.bindings[s] >= 0) this.retire(call, s, 'call-end');
    call.state = 'ended';
    call.endReason = reason;
    call.endStatus = status;
    call.lastMs = nowMs;
    this.lru.moveToTail(idx);
    this.stats.callsEnded++;
    this.hookCallEnd(idx, reason);
  }

  private freeCall(idx: number): void {
    const call = this.calls[idx]!;
    if (this.byCallId.get(call.callId) === idx) this.byCallId.delete(call.callId);
    this.lru.unlink(idx);
    this.age.unlink(idx);
    this.calls[idx] = null;
    this.freeSlots[this.freeTop++] = idx;
  }

  /**
   * Ends calls idle longer than idleMs or older than maxAgeMs, and forgets ended calls after their
   * linger time. Driven by capture time; call it about once a second.
   */
  expire(nowMs: number): void {
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
    // Least recently active first: idle calls, then ended calls past their linger.
    while (this.lru.head >= 0) {
      const c = this.calls[this.lru.head]!;
      const idle = nowMs - c.lastMs;
      if (c.state === 'ended') {
        if (idle < this.lingerMs) break;
        this.freeCall(c.index);
        continue;
      }
      if (idle < this.idleMs) break;
      this.stats.callsExpired++;
      this.endCall(c.index, 'idle-timeout', 0, nowMs); // moves it to the LRU tail to linger
      this.freeCall(c.index); // it was idle for idleMs already: no need to linger
    }
  }

  /** Ends every call (shutdown): hooks fire so final reports can be sent. */
  endAll(nowMs: number): void {
    while (this.age.head >= 0) {
      const idx = this.age.head;
      if (this.calls[idx]!.state !== 'ended') this.endCall(idx, 'evicted', 0, nowMs);
      this.freeCall(idx);
    }
  }
}

function sameAddress(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function fillClockRates(out: Int32Array, m: SdpMedia): void {
  out.fill(0);
  for (const [pt, f] of m.payloads) out[pt] = f.clockRate;
}
