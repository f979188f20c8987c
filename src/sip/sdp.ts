/**
 * SDP (RFC 8866) subset for media correlation: c=, m=, a=rtpmap, a=ptime, a=rtcp, a=rtcp-mux and the
 * direction attributes, at session and media level. Never throws; unknown lines are ignored.
 */
import { internAddress, NO_ADDRESS, parseIpv4Bytes, parseIpWords } from './ip.js';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface PayloadFormat {
  /** Encoding name as written in a=rtpmap (or the RFC 3551 static name), e.g. "PCMA". */
  name: string;
  clockRate: number;
  channels: number;
}

export interface SdpMedia {
  /** m= media type: "audio", "video", "image", ... */
  kind: string;
  /** 0 = stream rejected/disabled. */
  port: number;
  proto: string;
  /** Payload type numbers in preference order (only numeric formats). */
  formats: number[];
  /**
   * Connection address words (media c= or the session c=); all zero when absent or unparsable. Shared
   * between every holder of the same address (internAddress): read, never written.
   */
  ip: Uint32Array;
  /** False when neither media nor session level gave a parsable c= address. */
  hasIp: boolean;
  /**
   * Formats by payload type. Shared between SDPs that name the same formats in the same order
   * (sharedPayloads): read, never written.
   */
  payloads: Map<number, PayloadFormat>;
  ptime: number;
  /** RTCP port: a=rtcp or port + 1 (RFC 3605 / 3550); equals port with rtcp-mux. */
  rtcpPort: number;
  /** a=rtcp address when given (shared like `ip`), else null (same as ip). */
  rtcpIp: Uint32Array | null;
  rtcpMux: boolean;
  /** A secure profile (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP[F]): its RTCP is SRTCP, encrypted past 8 bytes. */
  secure: boolean;
  direction: MediaDirection;
}

export interface SdpSession {
  media: SdpMedia[];
  /** m= lines in the text, also those past `maxMedia` that were not parsed. */
  mediaLines: number;
}

/**
 * Bounds of the SDP text a media description keeps (its bindings hold it for the call's life, the shared
 * encoding names for the process's): a media type, transport or encoding name is a registered token of a
 * few characters (RFC 6838 allows 127; none in use comes near 64). A longer media type or transport is
 * cut (shown only; a transport cut before its RTP part is not RTP), an rtpmap naming a longer encoding is
 * ignored (its payload type stays unknown). Each payload type is kept once however often the m= line
 * repeats it.
 */
export const SDP_TEXT_LIMITS = { tokenChars: 64 } as const;

/** RFC 3551 static payload types (table 4 and 5), used when a format has no a=rtpmap. */
export const STATIC_PAYLOADS: ReadonlyMap<number, PayloadFormat> = new Map<number, PayloadFormat>([
  [0, { name: 'PCMU', clockRate: 8000, channels: 1 }],
  [3, { name: 'GSM', clockRate: 8000, channels: 1 }],
  [4, { name: 'G723', clockRate: 8000, channels: 1 }],
  [5, { name: 'DVI4', clockRate: 8000, channels: 1 }],
  [6, { name: 'DVI4', clockRate: 16000, channels: 1 }],
  [7, { name: 'LPC', clockRate: 8000, channels: 1 }],
  [8, { name: 'PCMA', clockRate: 8000, channels: 1 }],
  [9, { name: 'G722', clockRate: 8000, channels: 1 }],
  [10, { name: 'L16', clockRate: 44100, channels: 2 }],
  [11, { name: 'L16', clockRate: 44100, channels: 1 }],
  [12, { name: 'QCELP', clockRate: 8000, channels: 1 }],
  [13, { name: 'CN', clockRate: 8000, channels: 1 }],
  [14, { name: 'MPA', clockRate: 90000, channels: 1 }],
  [15, { name: 'G728', clockRate: 8000, channels: 1 }],
  [16, { name: 'DVI4', clockRate: 11025, channels: 1 }],
  [17, { name: 'DVI4', clockRate: 22050, channels: 1 }],
  [18, { name: 'G729', clockRate: 8000, channels: 1 }],
  [25, { name: 'CelB', clockRate: 90000, channels: 1 }],
  [26, { name: 'JPEG', clockRate: 90000, channels: 1 }],
  [28, { name: 'nv', clockRate: 90000, channels: 1 }],
  [31, { name: 'H261', clockRate: 90000, channels: 1 }],
  [32, { name: 'MPV', clockRate: 90000, channels: 1 }],
  [33, { name: 'MP2T', clockRate: 90000, channels: 1 }],
  [34, { name: 'H263', clockRate: 90000, channels: 1 }],
]);

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true }); // a BOM inside the text is a character, as in a string

/** Text of b[s..e) (UTF-8), for what is kept or parsed as a string: rare tokens, IPv6 addresses. */
function textOf(b: Uint8Array, s: number, e: number): string {
  return utf8.decode(b.subarray(s, e));
}

/** b[p..p+1] is the ASCII pair c0 c1, within e. */
function pairAt(b: Uint8Array, p: number, e: number, c0: number, c1: number): boolean {
  return p + 1 < e && b[p] === c0 && b[p + 1] === c1;
}

/** c=IN IP4 1.2.3.4[/ttl[/count]] in b[s..e) into words; false when not an IN IP4/IP6 literal address (FQDN, junk). */
function parseConnection(b: Uint8Array, s: number, e: number, out: Uint32Array): boolean {
  let p = skipWs(b, s, e);
  if (!pairAt(b, p, e, 73, 78) || !isWsAt(b, p + 2, e)) return false; // "IN"
  p = skipWs(b, p + 2, e);
  if (!pairAt(b, p, e, 73, 80) || (b[p + 2] !== 52 && b[p + 2] !== 54) || !isWsAt(b, p + 3, e)) return false; // "IP4", "IP6"
  p = skipWs(b, p + 3, e);
  let q = p;
  let colon = false;
  for (; q < e && !isWsAt(b, q, e); q++) {
    const c = b[q];
    if (c === 47) break; // '/' (TTL)
    if (c === 58) colon = true;
  }
  if (q === p) return false;
  if (colon) return parseIpWords(textOf(b, p, q), out, 0);
  // IPv4 (nearly every SDP): read in place, no string.
  const v4 = parseIpv4Bytes(b, p, q);
  if (v4 < 0) return false;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0xffff;
  out[3] = v4;
  return true;
}

/** b[i] is a space or tab before e. */
function isWsAt(b: Uint8Array, i: number, e: number): boolean {
  if (i >= e) return false;
  const c = b[i];
  return c === 32 || c === 9;
}

function skipWs(b: Uint8Array, p: number, e: number): number {
  while (p < e && (b[p] === 32 || b[p] === 9)) p++;
  return p;
}

/** End of the token starting at p (next space, tab or e). */
function tokenEnd(b: Uint8Array, p: number, e: number): number {
  while (p < e && b[p] !== 32 && b[p] !== 9) p++;
  return p;
}

/** Decimal b[s..e) of 1-10 digits not above max, -1 otherwise. */
function intAt(b: Uint8Array, s: number, e: number, max: number): number {
  if (e <= s || e - s > 10) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n <= max ? n : -1;
}

/** b[s..e) starts with the lower-case ASCII `word`, ignoring ASCII case. */
function startsWithLower(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    let c = b[s + i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** b[s..e) is exactly the ASCII string `word`. */
function equalsAscii(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c > 127 || b[s + i] !== c) return false;
  }
  return true;
}

const DIRECTIONS: MediaDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** Direction attribute a=<dir> in b[s..e) (whole attribute), null when it is another attribute. */
function directionAt(b: Uint8Array, s: number, e: number): MediaDirection | null {
  if (e - s !== 8) return null;
  for (const d of DIRECTIONS) if (startsWithLower(b, s, e, d)) return d;
  return null;
}

/** Payload formats are shared between SDPs that name the same encoding (most of them): by name, then rate and channels. */
const formatCache = new Map<string, PayloadFormat[]>();
const FORMAT_CACHE_MAX = 4096;
let formatsCached = 0;

// In front of the cache, by a hash of the name's length, first letters and the rate: a format seen before
// is found without making its name a string.
const recentFormats = new Array<PayloadFormat | null>(256).fill(null);

/** The shared format for the encoding name b[s..e) at this rate and channel count. */
function formatAt(b: Uint8Array, s: number, e: number, clockRate: number, channels: number): PayloadFormat {
  const n = e - s;
  const h = (n * 31 + b[s] * 7 + b[e - 1] + clockRate + channels) & 255;
  const r = recentFormats[h];
  if (r !== null && r.clockRate === clockRate && r.channels === channels && equalsAscii(b, s, e, r.name)) return r;
  const f = payloadFormat(textOf(b, s, e), clockRate, channels);
  recentFormats[h] = f;
  return f;
}

function payloadFormat(name: string, clockRate: number, channels: number): PayloadFormat {
  const same = formatCache.get(name);
  if (same !== undefined) {
    for (let i = 0; i < same.length; i++) if (same[i].clockRate === clockRate && same[i].channels === channels) return same[i];
  }
  const f = { name, clockRate, channels };
  if (formatsCached < FORMAT_CACHE_MAX) {
    formatsCached++;
    if (same !== undefined) same.push(f);
    else formatCache.set(name, [f]);
  }
  return f;
}

/** Characters of the UTF-8 text b[s..e) past SDP_TEXT_LIMITS.tokenChars (its bytes are counted first: most tokens are ASCII). */
function tooLongToken(b: Uint8Array, s: number, e: number): boolean {
  return e - s > SDP_TEXT_LIMITS.tokenChars && textOf(b, s, e).length > SDP_TEXT_LIMITS.tokenChars;
}

/** a=rtpmap:<pt> <name>/<rate>[/<channels>] in b[s..e) (after the colon) into the media's formats. */
function parseRtpmap(b: Uint8Array, s: number, e: number, cur: SdpMedia): void {
  let p = skipWs(b, s, e);
  const ptEnd = tokenEnd(b, p, e);
  const pt = ptEnd - p <= 3 ? intAt(b, p, ptEnd, 127) : -1;
  if (pt < 0) return;
  p = skipWs(b, ptEnd, e);
  let q = p;
  while (q < e && b[q] !== 32 && b[q] !== 9 && b[q] !== 47) q++;
  if (q === p || q >= e || b[q] !== 47 || tooLongToken(b, p, q)) return;
  let r = q + 1;
  while (r < e && r - q - 1 < 7 && b[r] >= 48 && b[r] <= 57) r++;
  const rate = intAt(b, q + 1, r, 9_999_999);
  if (rate < 0) return;
  let channels = 1;
  if (r < e && b[r] === 47) {
    let t = r + 1;
    while (t < e && t - r - 1 < 2 && b[t] >= 48 && b[t] <= 57) t++;
    if (t > r + 1) channels = intAt(b, r + 1, t, 99);
  }
  mapPayload(pt, formatAt(b, p, q, rate, channels));
}

// The payload map of the m= section being read, as its entries in insertion order (a Map's order: a
// payload type mapped again keeps its place, takes the later format), made a Map by finishMedia.
const mappedPts: number[] = [];
const mappedFormats: PayloadFormat[] = [];
let mappedCount = 0;

function mapPayload(pt: number, f: PayloadFormat): void {
  for (let i = 0; i < mappedCount; i++) {
    if (mappedPts[i] === pt) {
      mappedFormats[i] = f;
      return;
    }
  }
  mappedPts[mappedCount] = pt;
  mappedFormats[mappedCount] = f;
  mappedCount++;
}

/**
 * Payload maps handed out lately, by a hash of their entries: SDPs name the same few codec sets over and
 * over, and a Map costs more to make than to find. A shared map is never written (SdpMedia.payloads).
 */
interface SharedPayloads {
  pts: number[];
  formats: PayloadFormat[];
  map: Map<number, PayloadFormat>;
}
const SHARED_PAYLOAD_SLOTS = 256;
const sharedPayloadMaps = new Array<SharedPayloads | null>(SHARED_PAYLOAD_SLOTS).fill(null);

/** The map of the mapped entries: one handed out before when it has the same entries (the same format objects), else a new one. */
function sharedPayloads(): Map<number, PayloadFormat> {
  const n = mappedCount;
  let h = n;
  for (let i = 0; i < n; i++) {
    const f = mappedFormats[i];
    h = Math.imul(h ^ mappedPts[i], 0x01000193) ^ f.clockRate ^ (f.name.length << 24);
  }
  const slot = (h ^ (h >>> 16)) & (SHARED_PAYLOAD_SLOTS - 1);
  const e = sharedPayloadMaps[slot];
  if (e !== null && e.pts.length === n) {
    let same = true;
    for (let i = 0; i < n && same; i++) same = e.pts[i] === mappedPts[i] && e.formats[i] === mappedFormats[i];
    if (same) return e.map;
  }
  const map = new Map<number, PayloadFormat>();
  for (let i = 0; i < n; i++) map.set(mappedPts[i], mappedFormats[i]);
  sharedPayloadMaps[slot] = { pts: mappedPts.slice(0, n), formats: mappedFormats.slice(0, n), map };
  return map;
}

const NO_PAYLOADS: Map<number, PayloadFormat> = new Map();

const KINDS = ['audio', 'video', 'image', 'application', 'text', 'message'];
/** Transport protocols as shared strings, so the common ones cost no allocation; whether each is a secure profile. */
const PROTOS = ['RTP/AVP', 'RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'udptl'];
const isSecureProfile = (proto: string) => proto.toUpperCase().includes('/SAVP');
const PROTO_SECURE = PROTOS.map(isSecureProfile);

/** Index in PROTOS of the transport b[s..e), -1 for another. */
function protoIndex(b: Uint8Array, s: number, e: number): number {
  for (let i = 0; i < PROTOS.length; i++) if (equalsAscii(b, s, e, PROTOS[i])) return i;
  return -1;
}

// Payload types already on the m= line being read (newMedia): each is kept once. Marked with the line's
// number, so that no clearing is needed between lines.
const formatSeen = new Uint32Array(128);
let formatLine = 0;
const formatScratch: number[] = [];

function newMedia(b: Uint8Array, s: number, e: number, sessionDir: MediaDirection): SdpMedia {
  let p = skipWs(b, s, e);
  const kEnd = tokenEnd(b, p, e);
  let kind = '';
  for (const k of KINDS) if (kEnd - p === k.length && startsWithLower(b, p, kEnd, k)) kind = k;
  if (kind === '' && kEnd > p) kind = textOf(b, p, kEnd).slice(0, SDP_TEXT_LIMITS.tokenChars).toLowerCase();
  p = skipWs(b, kEnd, e);
  const portEnd = tokenEnd(b, p, e);
  let slash = p;
  while (slash < portEnd && b[slash] !== 47) slash++;
  const port = intAt(b, p, slash, 65535);
  p = skipWs(b, portEnd, e);
  const protoEnd = tokenEnd(b, p, e);
  const known = protoIndex(b, p, protoEnd);
  const proto = known >= 0 ? PROTOS[known] : textOf(b, p, protoEnd).slice(0, SDP_TEXT_LIMITS.tokenChars);
  p = skipWs(b, protoEnd, e);
  mappedCount = 0;
  if (++formatLine === 0xffffffff) {
    formatSeen.fill(0);
    formatLine = 1;
  }
  let formats = 0;
  while (p < e) {
    const f = tokenEnd(b, p, e);
    const pt = intAt(b, p, f, 127);
    if (pt >= 0 && formatSeen[pt] !== formatLine) {
      formatSeen[pt] = formatLine;
      formatScratch[formats++] = pt;
    }
    p = skipWs(b, f, e);
  }
  return {
    kind,
    port: port < 0 ? 0 : port,
    proto,
    formats: formatScratch.slice(0, formats), // the exact length: pushed one by one, an array grows to 17 slots
    ip: NO_ADDRESS,
    hasIp: false,
    payloads: NO_PAYLOADS, // finishMedia sets them
    ptime: 0,
    rtcpPort: 0,
    rtcpIp: null,
    rtcpMux: false,
    secure: known >= 0 ? PROTO_SECURE[known] : isSecureProfile(proto),
    direction: sessionDir,
  };
}

/** a=ptime value: digits (the usual case) read in place, anything else through parseFloat. */
function ptimeAt(b: Uint8Array, s: number, e: number): number {
  const p = skipWs(b, s, e);
  const n = intAt(b, p, e, 9999);
  return n >= 0 ? n : Number.parseFloat(textOf(b, p, e).trim());
}

// parseSdp's working state, reused (it runs to completion, never re-entered): the session address is
// copied into each media.
const sessionIpScratch = new Uint32Array(4);
const mediaScratch: SdpMedia[] = [];
const addressScratch = new Uint32Array(4);

/**
 * Completes media section `m` once its block is read: the session's address and direction where it gives
 * none, its RTCP port, the static formats it names without a=rtpmap. Session-level lines all come before
 * the first m= line, so they are final by then. `sessionIp` null: the session has no address.
 */
function finishMedia(m: SdpMedia, dir: MediaDirection | null, explicitRtcp: boolean, sessionIp: Uint32Array | null, sessionDir: MediaDirection): void {
  if (!m.hasIp && sessionIp !== null) {
    m.ip = internAddress(sessionIp);
    m.hasIp = true;
  }
  m.direction = dir ?? sessionDir;
  if (m.rtcpMux) m.rtcpPort = m.port;
  else if (!explicitRtcp) m.rtcpPort = m.port > 0 && m.port < 65535 ? m.port + 1 : 0;
  // Static formats named on the m= line without a=rtpmap, after the mapped ones.
  const mapped = mappedCount;
  for (const pt of m.formats) {
    let has = false;
    for (let i = 0; i < mapped && !has; i++) has = mappedPts[i] === pt;
    if (has) continue;
    const st = STATIC_PAYLOADS.get(pt);
    if (st) mapPayload(pt, st);
  }
  m.payloads = sharedPayloads();
  mappedCount = 0;
}

/** Index of the first LF in b[s..e), or e. */
function lineEnd(b: Uint8Array, s: number, e: number): number {
  while (s < e && b[s] !== 10) s++;
  return s;
}

/**
 * Returns null when the text has no m= line and no v= line (not SDP at all). Only the first `maxMedia`
 * m= sections are parsed (a hostile SDP with hundreds costs no more than that); the rest are counted.
 */
export function parseSdp(text: string, maxMedia = Number.POSITIVE_INFINITY): SdpSession | null {
  const b = Buffer.from(text, 'utf8');
  return parseSdpBytes(b, 0, b.length, maxMedia);
}

/** parseSdp of the UTF-8 text b[start..end) (an SDP body where it lies in a message: no string is made of it). */
export function parseSdpBytes(b: Uint8Array, start: number, end: number, maxMedia = Number.POSITIVE_INFINITY): SdpSession | null {
  const sessionIp = sessionIpScratch;
  let sessionHasIp = false;
  let sessionDir: MediaDirection = 'sendrecv';
  const media = mediaScratch; // sliced to its length at the end, as newMedia's formats
  let mediaCount = 0;
  let cur: SdpMedia | null = null;
  // Media-level direction and a=rtcp are only final after the whole block.
  let curDir: MediaDirection | null = null;
  let curRtcp = false;
  let sawVersion = false;
  let mediaLines = 0;
  let ls = start;
  while (ls < end) {
    const le = lineEnd(b, ls, end);
    const next = le + 1;
    let e = le;
    while (e > ls && (b[e - 1] === 13 || b[e - 1] === 32 || b[e - 1] === 9)) e--;
    if (e - ls < 2 || b[ls + 1] !== 61) {
      ls = next; // "x="
      continue;
    }
    const type = b[ls];
    const v = ls + 2;
    if (type === 109) {
      mediaLines++;
      if (mediaCount >= maxMedia) {
        // Past the sections kept: the rest of the text is only counted (its m= lines), not read.
        for (let i = le; i + 2 < end; i++) if (b[i] === 10 && b[i + 1] === 109 && b[i + 2] === 61) mediaLines++;
        break;
      }
    }
    if (type === 118) sawVersion = true; // v
    else if (type === 99) { // c
      if (cur) {
        cur.hasIp = parseConnection(b, v, e, addressScratch);
        cur.ip = cur.hasIp ? internAddress(addressScratch) : NO_ADDRESS;
      }
      else sessionHasIp = parseConnection(b, v, e, sessionIp);
    } else if (type === 109) { // m
      if (cur) finishMedia(cur, curDir, curRtcp, sessionHasIp ? sessionIp : null, sessionDir);
      cur = newMedia(b, v, e, sessionDir);
      curDir = null;
      curRtcp = false;
      media[mediaCount++] = cur;
    } else if (type === 97) { // a
      const dir = directionAt(b, v, e);
      if (dir) {
        if (cur) curDir = dir;
        else sessionDir = dir;
      } else if (cur) {
        if (startsWithLower(b, v, e, 'rtpmap:')) parseRtpmap(b, v + 7, e, cur);
        else if (startsWithLower(b, v, e, 'ptime:')) {
          const x = ptimeAt(b, v + 6, e);
          if (x > 0 && x < 10000) cur.ptime = x;
        } else if (startsWithLower(b, v, e, 'rtcp-mux') && e - v === 8) cur.rtcpMux = true;
        else if (startsWithLower(b, v, e, 'rtcp:')) {
          const p = skipWs(b, v + 5, e);
          const pe = tokenEnd(b, p, e);
          const port = intAt(b, p, pe, 65535);
          if (port > 0) {
            cur.rtcpPort = port;
            curRtcp = true;
            const rest = skipWs(b, pe, e);
            if (rest < e) {
              if (parseConnection(b, rest, e, addressScratch)) cur.rtcpIp = internAddress(addressScratch);
            }
          }
        }
      }
    }
    ls = next;
  }
  if (cur) finishMedia(cur, curDir, curRtcp, sessionHasIp ? sessionIp : null, sessionDir);
  if (!sawVersion && mediaCount === 0) return null;
  return { media: media.slice(0, mediaCount), mediaLines };
}
