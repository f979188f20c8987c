/**
 * RTP fixed-header checks over (buffer, offset, length): numbers in, numbers out, no allocation.
 */

/** Bytes of RTP header (fixed + CSRCs + extension) or -1 when the packet is not a well-formed RTP v2 packet. */
export function rtpHeaderLength(b: Uint8Array, off: number, len: number): number {
  if (len < 12) return -1;
  const b0 = b[off];
  if (b0 >> 6 !== 2) return -1;
  let hdr = 12 + ((b0 & 0x0f) << 2);
  if (hdr > len) return -1;
  if (b0 & 0x10) {
    if (hdr + 4 > len) return -1;
    hdr += 4 + (((b[off + hdr + 2] << 8) | b[off + hdr + 3]) << 2);
    if (hdr > len) return -1;
  }
  if (b0 & 0x20) {
    const pad = b[off + len - 1];
    if (pad === 0 || hdr + pad > len) return -1;
  }
  return hdr;
}

/**
 * A UDP payload the snap length cut (`len` captured of `wireLen`) short of a whole RTP fixed header, whose
 * captured bytes start as RTP would: version 2 in the first byte, a second byte no RTCP packet type
 * (200..223, RFC 5761) when captured. For the packets the RTP screen refused; a whole fixed header with its
 * CSRC list or extension cut is rtpHeaderLength's refusal (the engine tells that one).
 */
export function rtpHeaderCut(b: Uint8Array, off: number, len: number, wireLen: number): boolean {
  if (len >= 12 || wireLen < 12 || len >= wireLen) return false;
  if (len >= 1 && b[off] >> 6 !== 2) return false;
  return len < 2 || b[off + 1] < 200 || b[off + 1] > 223;
}

/** Padding bytes at the end (0 when the P bit is clear); call only after rtpHeaderLength succeeded. */
export function rtpPaddingLength(b: Uint8Array, off: number, len: number): number {
  return b[off] & 0x20 ? b[off + len - 1] : 0;
}

/**
 * Quick screen for "could be RTP": version 2, a whole fixed header, and a payload type outside 72..95
 * (those second bytes, 200..223 with the marker bit, are RTCP under rtcp-mux, RFC 5761). STUN (first two
 * bits 00), DTLS (first byte 20..63, also 00 in the top bits) and text protocols (SIP starts with a
 * letter: top bits 01) all fail the version test.
 */
export function isRtpCandidate(b: Uint8Array, off: number, len: number): boolean {
  if (len < 12 || b[off] >> 6 !== 2) return false;
  const pt = b[off + 1] & 0x7f;
  return pt < 72 || pt > 95;
}

/**
 * RTP version 2 with a whole fixed header and a payload type of 72..95 (isRtpCandidate refuses it): RTP
 * only where an SDP says so. With the marker bit clear (second byte below 128) it can be no RTCP packet.
 * Returns 0 not such a packet, 1 marker clear, 2 marker set (second byte 200..223: RTCP under rtcp-mux).
 */
export function reservedPayloadRtp(b: Uint8Array, off: number, len: number): number {
  if (len < 12 || b[off] >> 6 !== 2) return 0;
  const b1 = b[off + 1];
  const pt = b1 & 0x7f;
  if (pt < 72 || pt > 95) return 0;
  return b1 < 128 ? 1 : 2;
}
