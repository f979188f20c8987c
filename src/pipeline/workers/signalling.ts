import { DecodedPacket } from '../../decode/index.js';
import type { ProbeConfig } from '../../ops/config.js';
import { CallTracker } from '../../sip/index.js';
import { callTrackerOptions } from '../pipeline.js';
import { sipMessageHook, type SipTarget } from '../sip-out.js';
import type { ForwardedSip, MainToWorker } from './messages.js';

/**
 * The one CallTracker of a multi-worker probe, on the main thread. Media workers forward the SIP they
 * capture (the flow hash spreads it over all of them); every binding change is pushed to every worker in
 * the order the tracker made it, so each worker's mirror equals the tracker's table.
 */
export class SignallingOwner {
  readonly calls: CallTracker;
  private readonly pkt = new DecodedPacket();
  /** Latest capture time of forwarded SIP, ms. */
  nowMs = 0;

  constructor(
    config: ProbeConfig,
    private readonly broadcast: (m: MainToWorker) => void,
    sip?: SipTarget,
  ) {
    this.calls = new CallTracker(
      {
        onMessage: sip ? sipMessageHook(sip) : undefined,
        onBinding: (id, w0, w1, w2, w3, port) => {
          const binding = this.calls.binding(id);
          if (binding) this.broadcast({ t: 'bind', binding, w: [w0, w1, w2, w3], port, rtcp: this.calls.isRtcpAddress(w0, w1, w2, w3, port) });
        },
        onBindingRetired: (id, reason) => this.broadcast({ t: 'retire', id, reason }),
        onBindingUpdated: (id) => {
          const binding = this.calls.binding(id);
          if (binding) this.broadcast({ t: 'update', binding });
        },
      },
      callTrackerOptions(config),
    );
  }

  /** SIP packets from one worker, in its capture order. */
  onSip(packets: ForwardedSip[]): void {
    const p = this.pkt;
    for (const s of packets) {
      p.ipVersion = s.ipVersion;
      p.ipProto = s.ipProto;
      p.src0 = s.addr[0];
      p.src1 = s.addr[1];
      p.src2 = s.addr[2];
      p.src3 = s.addr[3];
      p.dst0 = s.addr[4];
      p.dst1 = s.addr[5];
      p.dst2 = s.addr[6];
      p.dst3 = s.addr[7];
      p.srcPort = s.srcPort;
      p.dstPort = s.dstPort;
      p.tcpSeq = s.tcpSeq;
      p.tcpFlags = s.tcpFlags;
      p.payloadBuf = s.bytes;
      p.payloadOffset = 0;
      p.payloadLength = s.bytes.length;
      p.payloadWireLength = s.wireLength;
      p.tsSec = s.tsSec;
      p.tsNsec = s.tsNsec;
      const now = s.tsSec * 1000 + s.tsNsec / 1e6;
      if (now > this.nowMs) this.nowMs = now;
      this.calls.onPacket(p, now);
    }
  }

  /** Media flowed for these calls (index and Call-ID: an index may have been reused since). */
  touch(callIndex: number[], callId: string[], nowMs: number): void {
    for (let i = 0; i < callIndex.length; i++) {
      if (this.calls.call(callIndex[i])?.callId === callId[i]) this.calls.touch(callIndex[i], nowMs);
    }
  }

  expire(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    this.calls.expire(this.nowMs);
  }

  /** End of capture: media of calls that already ended retires now (its streams get HANGUP, not a shutdown FINAL). */
  settle(): void {
    this.calls.settle();
  }

  endAll(): void {
    this.calls.endAll(this.nowMs);
  }
}
