import { addressToString, type DecodedPacket } from '../decode/index.js';
import type { SipMessage } from '../sip/index.js';
import { captureTimeMs, type Envelope } from '../outbound/index.js';

/** Where captured SIP messages go (the OutboundSink). */
export interface SipTarget {
  wantsSip(): boolean;
  sip(bytes: Uint8Array, env: Envelope, callId: string, method: string, statusCode: number): void;
}

/**
 * A CallTracker `onMessage` hook that hands each parsed SIP message to `target` with its capture time and
 * original addresses (inner ones for tunnelled traffic, as decoded).
 */
export function sipMessageHook(target: SipTarget) {
  return (msg: SipMessage, buf: Uint8Array, off: number, len: number, pkt: DecodedPacket): void => {
    if (!target.wantsSip()) return;
    const v = pkt.ipVersion;
    const env: Envelope = {
      ipVersion: v,
      ipProto: pkt.ipProto,
      srcIp: addressToString(v, pkt.src0, pkt.src1, pkt.src2, pkt.src3),
      srcPort: pkt.srcPort,
      dstIp: addressToString(v, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3),
      dstPort: pkt.dstPort,
      tsMs: captureTimeMs(pkt.tsSec, pkt.tsNsec),
    };
    const bytes = buf instanceof Buffer ? buf.subarray(off, off + len) : new Uint8Array(buf.buffer, buf.byteOffset + off, len);
    target.sip(bytes, env, msg.callId, msg.isRequest ? msg.method : msg.cseqMethod, msg.isRequest ? 0 : msg.statusCode);
  };
}
