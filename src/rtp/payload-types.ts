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
 * True for a retransmission format (RFC 4588 `rtx`): its stream carries copies of another stream's lost
 * packets, sent in bursts when loss happens, so nothing about it tells the quality of the media.
 */
export function isRetransmissionEncoding(name: string | null | undefined): boolean {
  return name != null && name.toLowerCase() === 'rtx';
}

/** Encoding names (SDP a=rtpmap) mapped to kinds; used by integrators implementing resolvePayloadKind. */
export function payloadKindOfEncoding(name: string): PayloadKind {
  const n = name.toLowerCase();
  if (n === 'telephone-event') return PayloadKind.telephoneEvent;
  if (n === 'cn') return PayloadKind.comfortNoise;
  return PayloadKind.media;
}
