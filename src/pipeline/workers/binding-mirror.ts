import type { DecodedPacket } from '../../decode/index.js';
import type { ProbeConfig } from '../../ops/config.js';
import { BindingTable, SipPortSet, looksLikeSip } from '../../sip/index.js';
import type { MediaBinding } from '../../sip/index.js';
import type { CallView, CallViewHooks } from '../call-view.js';
import type { ForwardedSip, MainToWorker } from './messages.js';
import type { SipInFlight } from './sip-in-flight.js';

/** TCP connections a worker keeps forwarding after one of their segments looked like SIP. */
const MAX_SIP_TCP_FLOWS = 4096;

/**
 * A media worker's view of SIP state: a copy of the signalling owner's bindings, kept by the binding
 * events it pushes (same ids, same key semantics: latest SDP takes an address, a retirement removes only
 * the keys still pointing at it). SIP the worker captures is not parsed here but queued for the owner.
 */
export class BindingMirror implements CallView {
  /** Used for its (ip, port) -> id keys only; the ids are the owner's. */
  private readonly keys: BindingTable;
  private readonly bindings: Array<MediaBinding | null>;
  /** Keys announced per binding id, to remove them on retirement: [w0, w1, w2, w3, port] each. */
  private readonly keysOf = new Map<number, Uint32Array[]>();
  private readonly ports: SipPortSet;
  private readonly sipTcpFlows = new Set<number>();
  private count = 0;
  /** Call-ID of the latest binding seen per call index (the owner checks it before touching: indexes are reused). */
  private readonly callIdOf = new Map<number, string>();
  /** Live bindings per call index, to forget the Call-ID with the last one. */
  private readonly bindingsOfCall = new Map<number, number>();
  /** Calls the owner said are answered and not ended. */
  private readonly answeredCalls = new Set<number>();
  /** SIP packets captured since the last takeSip(). */
  private sip: ForwardedSip[] = [];
  /** SIP packets not forwarded: the main thread had SipInFlight's limit waiting already. */
  sipDropped = 0;
  /** The pipeline's host clock offset and steps measured (clockOffset), forwarded with each SIP packet. */
  private clockOffsetMs = 0;
  private clockSteps = 0;
  /** Calls whose media flowed since the last takeTouched(): call index -> Call-ID. */
  private touched = new Map<number, string>();
  /** Of those, the latest audio packet the media-fault check saw (mediaAt), ms: call index -> time. */
  private mediaAtMs = new Map<number, number>();

  constructor(
    config: ProbeConfig,
    private readonly hooks: CallViewHooks,
    private readonly inFlight: SipInFlight,
  ) {
    const maxBindings = config.sip.maxCalls * 4; // what the owner's CallTracker allows
    this.keys = new BindingTable(maxBindings);
    this.bindings = new Array<MediaBinding | null>(maxBindings).fill(null);
    this.ports = new SipPortSet(config.sip.ports);
  }

  get activeCalls(): number {
    return this.count;
  }

  findBinding(ip0: number, ip1: number, ip2: number, ip3: number, port: number): number {
    return this.keys.find(ip0, ip1, ip2, ip3, port);
  }

  binding(id: number): MediaBinding | null {
    return id >= 0 && id < this.bindings.length ? this.bindings[id] : null;
  }

  callAnswered(callIndex: number): boolean {
    return this.answeredCalls.has(callIndex);
  }

  touch(callIndex: number, _nowMs: number): void {
    if (this.touched.has(callIndex)) return;
    const callId = this.callIdOf.get(callIndex);
    if (callId !== undefined) this.touched.set(callIndex, callId);
  }

  mediaAt(callIndex: number, atMs: number): void {
    this.touch(callIndex, atMs);
    if (this.touched.has(callIndex) && atMs > (this.mediaAtMs.get(callIndex) ?? 0)) this.mediaAtMs.set(callIndex, atMs);
  }

  clockOffset(offsetMs: number, steps: number): void {
    this.clockOffsetMs = offsetMs;
    this.clockSteps = steps;
  }

  /** The owner ends calls (BYE, expiry, shutdown) and tells the workers: nothing to do here. */
  expire(_nowMs: number): void {}
  endAll(_nowMs: number): void {}

  /** Same classification as CallTracker.onPacket; SIP is copied out for the owner instead of parsed. */
  onPacket(pkt: DecodedPacket, _nowMs: number): boolean {
    const buf = pkt.payloadBuf;
    const off = pkt.payloadOffset;
    const len = Math.max(0, Math.min(pkt.payloadLength, buf.length - off));
    if (pkt.ipProto === 17) {
      if (!this.ports.isSipDatagram(pkt.srcPort, pkt.dstPort, buf, off, len)) return false;
      this.forward(pkt, off, len);
      return true;
    }
    if (pkt.ipProto !== 6) return false;
    const sipPort = this.ports.has(pkt.srcPort) || this.ports.has(pkt.dstPort);
    // Both directions of a connection share the flow hash; collisions only forward a little more.
    const flow = (Math.imul(pkt.src3 ^ pkt.dst3, 0x9e3779b1) ^ (pkt.srcPort ^ pkt.dstPort) ^ (pkt.srcPort + pkt.dstPort) * 65536) | 0;
    const known = this.sipTcpFlows.size > 0 && this.sipTcpFlows.has(flow);
    if (!known && !sipPort && !(len > 0 && looksLikeSip(buf, off, len))) return false;
    if ((pkt.tcpFlags & 0x05) !== 0) this.sipTcpFlows.delete(flow);
    else if (!known) {
      if (this.sipTcpFlows.size >= MAX_SIP_TCP_FLOWS) this.sipTcpFlows.delete(this.sipTcpFlows.values().next().value!);
      this.sipTcpFlows.add(flow);
    }
    this.forward(pkt, off, len);
    return true;
  }

  private forward(pkt: DecodedPacket, off: number, len: number): void {
    if (!this.inFlight.take(len)) {
      this.sipDropped++;
      return;
    }
    const addr = new Int32Array([pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3]);
    this.sip.push({
      bytes: pkt.payloadBuf.slice(off, off + len),
      ipVersion: pkt.ipVersion,
      ipProto: pkt.ipProto,
      addr,
      srcPort: pkt.srcPort,
      dstPort: pkt.dstPort,
      tcpSeq: pkt.tcpSeq,
      tcpFlags: pkt.tcpFlags,
      wireLength: pkt.payloadWireLength,
      tsSec: pkt.tsSec,
      tsNsec: pkt.tsNsec,
      clockOffsetMs: this.clockOffsetMs,
      clockSteps: this.clockSteps,
    });
  }

  takeSip(): ForwardedSip[] | null {
    if (this.sip.length === 0) return null;
    const s = this.sip;
    this.sip = [];
    return s;
  }

  /**
   * The calls touched since the last call: index and Call-ID, and the latest audio the media-fault check
   * saw of each (0 when none: touched only, as a stream's interval report does while it pauses).
   */
  takeTouched(): { callIndex: number[]; callId: string[]; mediaAtMs: number[] } | null {
    if (this.touched.size === 0) return null;
    const out = { callIndex: [...this.touched.keys()], callId: [...this.touched.values()], mediaAtMs: [] as number[] };
    for (const i of out.callIndex) out.mediaAtMs.push(this.mediaAtMs.get(i) ?? 0);
    this.touched = new Map();
    this.mediaAtMs = new Map();
    return out;
  }

  /** Applies one binding event from the owner, then lets the pipeline react (attach running streams, end them). */
  apply(m: MainToWorker): void {
    if (m.t === 'bind') {
      const b = m.binding;
      if (this.bindings[b.id] === null) {
        this.count++;
        this.bindingsOfCall.set(b.callIndex, (this.bindingsOfCall.get(b.callIndex) ?? 0) + 1);
      }
      this.bindings[b.id] = b;
      this.callIdOf.set(b.callIndex, b.callId);
      const key = Uint32Array.from(m.w.concat(m.port));
      this.keys.setKey(key, m.port, b.id, m.rtcp);
      const list = this.keysOf.get(b.id);
      if (list) list.push(key);
      else this.keysOf.set(b.id, [key]);
      this.hooks.onBinding(b.id, m.w[0], m.w[1], m.w[2], m.w[3], m.port, m.sipMs);
    } else if (m.t === 'answered') {
      if (m.on) this.answeredCalls.add(m.callIndex);
      else this.answeredCalls.delete(m.callIndex);
    } else if (m.t === 'update') {
      if (this.bindings[m.binding.id] !== null) this.bindings[m.binding.id] = m.binding;
    } else if (m.t === 'retire') {
      const id = m.id;
      for (const k of this.keysOf.get(id) ?? []) this.keys.removeKey(k, k[4], id);
      this.keysOf.delete(id);
      this.hooks.onBindingRetired(id, m.reason);
      const b = this.bindings[id];
      if (b !== null) {
        this.count--;
        const left = (this.bindingsOfCall.get(b.callIndex) ?? 1) - 1;
        if (left > 0) this.bindingsOfCall.set(b.callIndex, left);
        else {
          this.bindingsOfCall.delete(b.callIndex);
          this.callIdOf.delete(b.callIndex);
        }
      }
      this.bindings[id] = null;
    }
  }
}
