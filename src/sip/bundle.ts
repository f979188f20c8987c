/**
 * Media sections of one SDP on the same address and port share one transport (BUNDLE, RFC 8843: WebRTC
 * and its gateways put audio and video on one port), their streams told apart by SSRC and payload type.
 * An address has one binding (the last section's), so it must carry what every section on it names.
 */
import { sameAddress } from './ip.js';
import type { PayloadFormat, SdpMedia } from './sdp.js';

export interface MediaTransport {
  /** "audio" when one of the sections on the address is audio (its streams run there), else the section's kind. */
  kind: string;
  /** Payload types of every section on the address, the section's own first (RFC 8843 keeps them distinct). */
  payloads: Map<number, PayloadFormat>;
}

const bundled = (a: SdpMedia, b: SdpMedia): boolean =>
  b.port === a.port && b.hasIp && b.proto.toUpperCase().includes('RTP') && sameAddress(b.ip, a.ip);

/** What RTP to section i's address (of the first n sections) carries: the section itself unless another shares it. */
export function transportOf(media: readonly SdpMedia[], i: number, n: number): MediaTransport {
  const m = media[i];
  let t: MediaTransport = m;
  for (let k = 0; k < n; k++) {
    const o = media[k];
    if (k === i || !bundled(m, o)) continue;
    if (t === m) t = { kind: m.kind, payloads: new Map(m.payloads) };
    if (o.kind === 'audio') t.kind = 'audio';
    for (const [pt, f] of o.payloads) if (!t.payloads.has(pt)) t.payloads.set(pt, f);
  }
  return t;
}
