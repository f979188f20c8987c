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
  /**
   * Payload types of the sections other than audio on an address an audio one shares (bundled video):
   * their streams are not audio though `kind` is; empty when no such section shares it.
   */
  nonAudioPayloads: ReadonlySet<number>;
}

const NONE: ReadonlySet<number> = new Set();

/** True when a stream of payload type `pt` to a binding of this transport is audio (media faults watch audio only). */
export function carriesAudio(t: Pick<MediaTransport, 'kind' | 'nonAudioPayloads'>, pt: number): boolean {
  return t.kind === 'audio' && !t.nonAudioPayloads.has(pt);
}

const bundled = (a: SdpMedia, b: SdpMedia): boolean =>
  b.port === a.port && b.hasIp && b.proto.toUpperCase().includes('RTP') && sameAddress(b.ip, a.ip);

/** What RTP to section i's address (of the first n sections) carries: the section itself unless another shares it. */
export function transportOf(media: readonly SdpMedia[], i: number, n: number): MediaTransport {
  const m = media[i];
  const t: MediaTransport = { kind: m.kind, payloads: m.payloads, nonAudioPayloads: NONE };
  let others: SdpMedia[] | null = null; // made only for a shared address (rare)
  for (let k = 0; k < n; k++) {
    const o = media[k];
    if (k === i || !bundled(m, o)) continue;
    if (others === null) {
      others = [];
      t.payloads = new Map(m.payloads);
    }
    others.push(o);
    if (o.kind === 'audio') t.kind = 'audio';
    for (const [pt, f] of o.payloads) if (!t.payloads.has(pt)) t.payloads.set(pt, f);
  }
  if (others === null || t.kind !== 'audio' || (m.kind === 'audio' && others.every((o) => o.kind === 'audio'))) return t;
  // Audio and other media on the address: the other sections' payload types are not audio (one an audio
  // section also names stays audio).
  const audioPts = new Set<number>();
  for (const s of [m, ...others]) if (s.kind === 'audio') for (const pt of s.payloads.keys()) audioPts.add(pt);
  const nonAudio = new Set<number>();
  for (const s of [m, ...others]) if (s.kind !== 'audio') for (const pt of s.payloads.keys()) if (!audioPts.has(pt)) nonAudio.add(pt);
  t.nonAudioPayloads = nonAudio;
  return t;
}
