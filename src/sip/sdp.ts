/**
 * SDP (RFC 8866) subset for media correlation: c=, m=, a=rtpmap, a=ptime, a=rtcp, a=rtcp-mux and the
 * direction attributes, at session and media level. Never throws; unknown lines are ignored.
 */
import { parseIpWords } from './ip.js';

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
  /** Connection address words (media c= or the session c=); all zero when absent or unparsable. */
  ip: Uint32Array;
  /** False when neither media nor session level gave a parsable c= address. */
  hasIp: boolean;
  payloads: Map<number, PayloadFormat>;
  ptime: number;
  /** RTCP port: a=rtcp or port + 1 (RFC 3605 / 3550); equals port with rtcp-mux. */
  rtcpPort: number;
  /** a=rtcp address when given, else null (same as ip). */
  rtcpIp: Uint32Array | null;
  rtcpMux: boolean;
  direction: MediaDirection;
}

export interface SdpSession {
  media: SdpMedia[];
}

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

function directionOf(attr: string): MediaDirection | null {
  return attr === 'sendrecv' || attr === 'sendonly' || attr === 'recvonly' || attr === 'inactive' ? attr : null;
}

/** c=IN IP4 1.2.3.4[/ttl[/count]] into words; false when not an IN IP4/IP6 literal address (FQDN, junk). */
function parseConnection(value: string, out: Uint32Array): boolean {
  const parts = value.trim().split(/\s+/);
  if (parts.length < 3 || parts[0] !== 'IN' || (parts[1] !== 'IP4' && parts[1] !== 'IP6')) return false;
  const addr = parts[2].split('/')[0];
  return parseIpWords(addr, out, 0);
}

function toInt(s: string | undefined, max: number): number {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return -1;
  const n = Number(s);
  return n <= max ? n : -1;
}

/** Returns null when the text has no m= line and no v= line (not SDP at all). */
export function parseSdp(text: string): SdpSession | null {
  const lines = text.split(/\r?\n/);
  const sessionIp = new Uint32Array(4);
  let sessionHasIp = false;
  let sessionDir: MediaDirection = 'sendrecv';
  const media: SdpMedia[] = [];
  let cur: SdpMedia | null = null;
  let sawVersion = false;
  // Media-level direction is only known after the whole block; track explicit values separately.
  const explicitDir: Array<MediaDirection | null> = [];
  const explicitRtcp: boolean[] = [];
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (line.length < 2 || line.charCodeAt(1) !== 61) continue; // "x="
    const type = line[0];
    const value = line.slice(2);
    if (type === 'v') sawVersion = true;
    else if (type === 'c') {
      if (cur) cur.hasIp = parseConnection(value, cur.ip);
      else sessionHasIp = parseConnection(value, sessionIp);
    } else if (type === 'm') {
      const p = value.trim().split(/\s+/);
      const port = toInt(p[1]?.split('/')[0], 65535);
      cur = {
        kind: (p[0] ?? '').toLowerCase(),
        port: port < 0 ? 0 : port,
        proto: p[2] ?? '',
        formats: [],
        ip: new Uint32Array(4),
        hasIp: false,
        payloads: new Map(),
        ptime: 0,
        rtcpPort: 0,
        rtcpIp: null,
        rtcpMux: false,
        direction: sessionDir,
      };
      for (let i = 3; i < p.length; i++) {
        const pt = toInt(p[i], 127);
        if (pt >= 0) cur.formats.push(pt);
      }
      media.push(cur);
      explicitDir.push(null);
      explicitRtcp.push(false);
    } else if (type === 'a') {
      const colon = value.indexOf(':');
      const attr = (colon < 0 ? value : value.slice(0, colon)).trim().toLowerCase();
      const arg = colon < 0 ? '' : value.slice(colon + 1).trim();
      const dir = directionOf(attr);
      if (dir) {
        if (cur) explicitDir[media.length - 1] = dir;
        else sessionDir = dir;
        continue;
      }
      if (!cur) continue;
      if (attr === 'rtpmap') {
        const m = /^(\d{1,3})\s+([^/\s]+)\/(\d{1,7})(?:\/(\d{1,2}))?/.exec(arg);
        if (m) {
          const pt = Number(m[1]);
          if (pt <= 127) cur.payloads.set(pt, { name: m[2], clockRate: Number(m[3]), channels: m[4] ? Number(m[4]) : 1 });
        }
      } else if (attr === 'ptime') {
        const v = Number.parseFloat(arg);
        if (v > 0 && v < 10000) cur.ptime = v;
      } else if (attr === 'rtcp') {
        const p = arg.split(/\s+/);
        const port = toInt(p[0], 65535);
        if (port > 0) {
          cur.rtcpPort = port;
          explicitRtcp[media.length - 1] = true;
          if (p.length >= 4) {
            const ip = new Uint32Array(4);
            if (parseConnection(p.slice(1).join(' '), ip)) cur.rtcpIp = ip;
          }
        }
      } else if (attr === 'rtcp-mux') cur.rtcpMux = true;
    }
  }
  if (!sawVersion && media.length === 0) return null;
  for (let i = 0; i < media.length; i++) {
    const m = media[i];
    if (!m.hasIp && sessionHasIp) {
      m.ip.set(sessionIp);
      m.hasIp = true;
    }
    m.direction = explicitDir[i] ?? sessionDir;
    if (m.rtcpMux) m.rtcpPort = m.port;
    else if (!explicitRtcp[i]) m.rtcpPort = m.port > 0 && m.port < 65535 ? m.port + 1 : 0;
    for (const pt of m.formats) {
      if (!m.payloads.has(pt)) {
        const s = STATIC_PAYLOADS.get(pt);
        if (s) m.payloads.set(pt, s);
      }
    }
  }
  return { media };
}
