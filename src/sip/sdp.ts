/**
 * SDP (RFC 8866) subset for media correlation: c=, m=, a=rtpmap, a=ptime, a=rtcp, a=rtcp-mux and the
 * direction attributes, at session and media level. Never throws; unknown lines are ignored.
 */
import { internAddress, NO_ADDRESS, parseIpv4At, parseIpWords } from './ip.js';

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

/** c=IN IP4 1.2.3.4[/ttl[/count]] in text[s..e) into words; false when not an IN IP4/IP6 literal address (FQDN, junk). */
function parseConnection(text: string, s: number, e: number, out: Uint32Array): boolean {
  let p = skipWs(text, s, e);
  if (!text.startsWith('IN', p) || !isWsAt(text, p + 2)) return false;
  p = skipWs(text, p + 2, e);
  if (!(text.startsWith('IP4', p) || text.startsWith('IP6', p)) || !isWsAt(text, p + 3)) return false;
  p = skipWs(text, p + 3, e);
  let q = p;
  let colon = false;
  for (; q < e && !isWsAt(text, q); q++) {
    const c = text.charCodeAt(q);
    if (c === 47) break; // '/' (TTL)
    if (c === 58) colon = true;
  }
  if (q === p) return false;
  if (colon) return parseIpWords(text.slice(p, q), out, 0);
  // IPv4 (nearly every SDP): read in place, no substring.
  const v4 = parseIpv4At(text, p, q);
  if (v4 < 0) return false;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0xffff;
  out[3] = v4;
  return true;
}

function isWsAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 32 || c === 9;
}

function skipWs(text: string, p: number, e: number): number {
  while (p < e && isWsAt(text, p)) p++;
  return p;
}

/** End of the token starting at p (next space, tab or e). */
function tokenEnd(text: string, p: number, e: number): number {
  while (p < e && !isWsAt(text, p)) p++;
  return p;
}

/** Decimal text[s..e) of 1-10 digits not above max, -1 otherwise. */
function intAt(text: string, s: number, e: number, max: number): number {
  if (e <= s || e - s > 10) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n <= max ? n : -1;
}

/** text[s..) starts with the lower-case `word`, ignoring ASCII case. */
function startsWithLower(text: string, s: number, e: number, word: string): boolean {
  if (e - s < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    let c = text.charCodeAt(s + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}

const DIRECTIONS: MediaDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** Direction attribute a=<dir> in text[s..e) (whole attribute), null when it is another attribute. */
function directionAt(text: string, s: number, e: number): MediaDirection | null {
  if (e - s !== 8) return null;
  for (const d of DIRECTIONS) if (startsWithLower(text, s, e, d)) return d;
  return null;
}

/** Payload formats are shared between SDPs that name the same encoding (most of them): by name, then rate and channels. */
const formatCache = new Map<string, PayloadFormat[]>();
const FORMAT_CACHE_MAX = 4096;
let formatsCached = 0;

// In front of the cache, by a hash of the name's length, first letters and the rate: a format seen before
// is found without making its name a string.
const recentFormats = new Array<PayloadFormat | null>(256).fill(null);

/** The shared format for the encoding name text[s..e) at this rate and channel count. */
function formatAt(text: string, s: number, e: number, clockRate: number, channels: number): PayloadFormat {
  const n = e - s;
  const h = (n * 31 + text.charCodeAt(s) * 7 + text.charCodeAt(e - 1) + clockRate + channels) & 255;
  const r = recentFormats[h];
  if (r !== null && r.clockRate === clockRate && r.channels === channels && r.name.length === n && text.startsWith(r.name, s)) return r;
  const f = payloadFormat(text.slice(s, e), clockRate, channels);
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

/** a=rtpmap:<pt> <name>/<rate>[/<channels>] in text[s..e) (after the colon) into the media's formats. */
function parseRtpmap(text: string, s: number, e: number, cur: SdpMedia): void {
  let p = skipWs(text, s, e);
  const ptEnd = tokenEnd(text, p, e);
  const pt = ptEnd - p <= 3 ? intAt(text, p, ptEnd, 127) : -1;
  if (pt < 0) return;
  p = skipWs(text, ptEnd, e);
  let q = p;
  while (q < e && !isWsAt(text, q) && text.charCodeAt(q) !== 47) q++;
  if (q === p || q >= e || text.charCodeAt(q) !== 47 || q - p > SDP_TEXT_LIMITS.tokenChars) return;
  let r = q + 1;
  while (r < e && r - q - 1 < 7 && text.charCodeAt(r) >= 48 && text.charCodeAt(r) <= 57) r++;
  const rate = intAt(text, q + 1, r, 9_999_999);
  if (rate < 0) return;
  let channels = 1;
  if (r < e && text.charCodeAt(r) === 47) {
    let t = r + 1;
    while (t < e && t - r - 1 < 2 && text.charCodeAt(t) >= 48 && text.charCodeAt(t) <= 57) t++;
    if (t > r + 1) channels = intAt(text, r + 1, t, 99);
  }
  cur.payloads.set(pt, formatAt(text, p, q, rate, channels));
}

const KINDS = ['audio', 'video', 'image', 'application', 'text', 'message'];
/** Transport protocols as shared strings, so the common ones cost no allocation. */
const PROTOS = ['RTP/AVP', 'RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'udptl'];

function protoText(text: string, s: number, e: number): string {
  for (const p of PROTOS) if (e - s === p.length && text.startsWith(p, s)) return p;
  return text.slice(s, Math.min(e, s + SDP_TEXT_LIMITS.tokenChars));
}

// Payload types already on the m= line being read (newMedia): each is kept once.
const formatSeen = new Uint8Array(128);

function newMedia(text: string, s: number, e: number, sessionDir: MediaDirection): SdpMedia {
  let p = skipWs(text, s, e);
  const kEnd = tokenEnd(text, p, e);
  let kind = '';
  for (const k of KINDS) if (kEnd - p === k.length && startsWithLower(text, p, kEnd, k)) kind = k;
  if (kind === '' && kEnd > p) kind = text.slice(p, Math.min(kEnd, p + SDP_TEXT_LIMITS.tokenChars)).toLowerCase();
  p = skipWs(text, kEnd, e);
  const portEnd = tokenEnd(text, p, e);
  let slash = p;
  while (slash < portEnd && text.charCodeAt(slash) !== 47) slash++;
  const port = intAt(text, p, slash, 65535);
  p = skipWs(text, portEnd, e);
  const protoEnd = tokenEnd(text, p, e);
  const proto = protoText(text, p, protoEnd);
  const m: SdpMedia = {
    kind,
    port: port < 0 ? 0 : port,
    proto,
    formats: [],
    ip: NO_ADDRESS,
    hasIp: false,
    payloads: new Map(),
    ptime: 0,
    rtcpPort: 0,
    rtcpIp: null,
    rtcpMux: false,
    secure: proto.toUpperCase().includes('/SAVP'),
    direction: sessionDir,
  };
  p = skipWs(text, protoEnd, e);
  formatSeen.fill(0);
  while (p < e) {
    const f = tokenEnd(text, p, e);
    const pt = intAt(text, p, f, 127);
    if (pt >= 0 && formatSeen[pt] === 0) {
      formatSeen[pt] = 1;
      m.formats.push(pt);
    }
    p = skipWs(text, f, e);
  }
  return m;
}

/** a=ptime value: digits (the usual case) read in place, anything else through parseFloat. */
function ptimeAt(text: string, s: number, e: number): number {
  const p = skipWs(text, s, e);
  const n = intAt(text, p, e, 9999);
  return n >= 0 ? n : Number.parseFloat(text.slice(p, e).trim());
}

// parseSdp's working state, reused (it runs to completion, never re-entered): the session address is
// copied into each media.
const sessionIpScratch = new Uint32Array(4);
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
  for (const pt of m.formats) {
    if (!m.payloads.has(pt)) {
      const st = STATIC_PAYLOADS.get(pt);
      if (st) m.payloads.set(pt, st);
    }
  }
}

/**
 * Returns null when the text has no m= line and no v= line (not SDP at all). Only the first `maxMedia`
 * m= sections are parsed (a hostile SDP with hundreds costs no more than that); the rest are counted.
 */
export function parseSdp(text: string, maxMedia = Number.POSITIVE_INFINITY): SdpSession | null {
  const sessionIp = sessionIpScratch;
  sessionIp.fill(0);
  let sessionHasIp = false;
  let sessionDir: MediaDirection = 'sendrecv';
  const media: SdpMedia[] = [];
  let cur: SdpMedia | null = null;
  // Media-level direction and a=rtcp are only final after the whole block.
  let curDir: MediaDirection | null = null;
  let curRtcp = false;
  let sawVersion = false;
  let mediaLines = 0;
  const n = text.length;
  let ls = 0;
  while (ls < n) {
    let le = text.indexOf('\n', ls);
    if (le < 0) le = n;
    const next = le + 1;
    let e = le;
    while (e > ls && (text.charCodeAt(e - 1) === 13 || isWsAt(text, e - 1))) e--;
    if (e - ls < 2 || text.charCodeAt(ls + 1) !== 61) {
      ls = next; // "x="
      continue;
    }
    const type = text.charCodeAt(ls);
    const v = ls + 2;
    if (type === 109) {
      mediaLines++;
      if (media.length >= maxMedia) {
        // Past the sections kept: the rest of the text is only counted (its m= lines), not read.
        for (let i = text.indexOf('\nm=', le); i >= 0; i = text.indexOf('\nm=', i + 3)) mediaLines++;
        break;
      }
    }
    if (type === 118) sawVersion = true; // v
    else if (type === 99) { // c
      if (cur) {
        cur.hasIp = parseConnection(text, v, e, addressScratch);
        cur.ip = cur.hasIp ? internAddress(addressScratch) : NO_ADDRESS;
      }
      else sessionHasIp = parseConnection(text, v, e, sessionIp);
    } else if (type === 109) { // m
      if (cur) finishMedia(cur, curDir, curRtcp, sessionHasIp ? sessionIp : null, sessionDir);
      cur = newMedia(text, v, e, sessionDir);
      curDir = null;
      curRtcp = false;
      media.push(cur);
    } else if (type === 97) { // a
      const dir = directionAt(text, v, e);
      if (dir) {
        if (cur) curDir = dir;
        else sessionDir = dir;
      } else if (cur) {
        if (startsWithLower(text, v, e, 'rtpmap:')) parseRtpmap(text, v + 7, e, cur);
        else if (startsWithLower(text, v, e, 'ptime:')) {
          const x = ptimeAt(text, v + 6, e);
          if (x > 0 && x < 10000) cur.ptime = x;
        } else if (startsWithLower(text, v, e, 'rtcp-mux') && e - v === 8) cur.rtcpMux = true;
        else if (startsWithLower(text, v, e, 'rtcp:')) {
          const p = skipWs(text, v + 5, e);
          const pe = tokenEnd(text, p, e);
          const port = intAt(text, p, pe, 65535);
          if (port > 0) {
            cur.rtcpPort = port;
            curRtcp = true;
            const rest = skipWs(text, pe, e);
            if (rest < e) {
              if (parseConnection(text, rest, e, addressScratch)) cur.rtcpIp = internAddress(addressScratch);
            }
          }
        }
      }
    }
    ls = next;
  }
  if (cur) finishMedia(cur, curDir, curRtcp, sessionHasIp ? sessionIp : null, sessionDir);
  if (!sawVersion && media.length === 0) return null;
  return { media, mediaLines };
}
