/**
 * Payload type knowledge the engine needs: the RFC 3551 static clock table and the kinds that change how
 * a packet is measured (comfort noise, RFC 4733 telephone events).
 */

/** The kinds as a const enum, for the per-packet code (tsc inlines the numbers as literals). */
export const enum Kind {
  MEDIA = 0,
  CN = 1,
  TEV = 2,
}

export const PayloadKind = {
  /** Ordinary media: full delta/jitter/skew. */
  media: Kind.MEDIA,
  /** Comfort noise (PT 13, or 19 the old CN number): excluded from min/mean/max, and so is the packet after it. */
  comfortNoise: Kind.CN,
  /** RFC 4733 telephone-event: timestamps do not advance per packet, so only delta is measured. */
  telephoneEvent: Kind.TEV,
} as const;
export type PayloadKind = (typeof PayloadKind)[keyof typeof PayloadKind];

const STATIC_CLOCK = new Int32Array(128);
for (const pt of [0, 3, 4, 5, 7, 8, 9, 12, 13, 15, 18]) STATIC_CLOCK[pt] = 8000; // G.722 (9) is 8000 by RFC 3551
STATIC_CLOCK[6] = 16000;
STATIC_CLOCK[10] = 44100;
STATIC_CLOCK[11] = 44100;
STATIC_CLOCK[16] = 11025;
STATIC_CLOCK[17] = 22050;
for (const pt of [14, 25, 26, 28, 31, 32, 33, 34]) STATIC_CLOCK[pt] = 90000;

/** RFC 3551 clock rate of a static payload type, 0 when unassigned or dynamic. */
export function staticClockRate(pt: number): number {
  return pt >= 0 && pt < 128 ? STATIC_CLOCK[pt] : 0;
}

/** Kind of a static payload type (dynamic ones are resolved through the engine's hooks). */
export function staticPayloadKind(pt: number): PayloadKind {
  return pt === 13 || pt === 19 ? PayloadKind.comfortNoise : PayloadKind.media;
}

/**
 * Repair formats, sent under their own SSRC beside the stream they repair: retransmission (RFC 4588 `rtx`:
 * copies of lost packets, in bursts when loss happens) and FEC (RFC 8627 `flexfec`, WebRTC's `flexfec-03`;
 * RFC 5109 `ulpfec`, RFC 3009 `parityfec`: parity over media packets, at the rate the sender's protection
 * level asks, off when the network is clean). Nothing about such a stream tells the quality of the media.
 * RED (RFC 2198 `red`) is not one: it carries the media itself.
 */
export function isRepairEncoding(name: string | null | undefined): boolean {
  if (name == null) return false;
  const n = name.toLowerCase();
  return n === 'rtx' || n === 'ulpfec' || n === 'parityfec' || n === 'flexfec' || n.startsWith('flexfec-');
}

/** Encoding names (SDP a=rtpmap) mapped to kinds; used by integrators implementing resolvePayloadKind. */
export function payloadKindOfEncoding(name: string): PayloadKind {
  const n = name.toLowerCase();
  if (n === 'telephone-event') return PayloadKind.telephoneEvent;
  if (n === 'cn') return PayloadKind.comfortNoise;
  return PayloadKind.media;
}
