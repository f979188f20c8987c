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
  // Compared in place, not through toLowerCase(): every report interval asks this of its stream's codec
  // name, and lower-casing "PCMA" makes a new string each time. Folding ASCII letters answers as
  // toLowerCase() would: no other character lower-cases to a letter of these names alone.
  return startsFolded(name, 'rtx', true) || startsFolded(name, 'ulpfec', true) || startsFolded(name, 'parityfec', true) ||
    startsFolded(name, 'flexfec', true) || startsFolded(name, 'flexfec-', false);
}

/** `name` with ASCII letters lower-cased starts with `lower` (is exactly it when `whole`). */
function startsFolded(name: string, lower: string, whole: boolean): boolean {
  const n = lower.length;
  if (whole ? name.length !== n : name.length < n) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Encoding names (SDP a=rtpmap) mapped to kinds; used by integrators implementing resolvePayloadKind. */
export function payloadKindOfEncoding(name: string): PayloadKind {
  const n = name.toLowerCase();
  if (n === 'telephone-event') return PayloadKind.telephoneEvent;
  if (n === 'cn') return PayloadKind.comfortNoise;
  return PayloadKind.media;
}
