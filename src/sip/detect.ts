/**
 * Fast content check used to classify UDP/TCP payloads as SIP on any port: a status line
 * "SIP/2.0 NNN " or a request line "METHOD SP ... SP SIP/2.0" with a known method. Reads bytes only,
 * never allocates.
 */

// Methods of RFC 3261 and its extensions (3262 PRACK, 3265 SUBSCRIBE/NOTIFY, 3311 UPDATE, 3428 MESSAGE,
// 3515 REFER, 3903 PUBLISH, 6086 INFO). Stored as byte arrays so the check compares numbers.
const METHODS: Uint8Array[] = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'].map(
  (m) => Uint8Array.from(m, (c) => c.charCodeAt(0)),
);
const SIP20 = Uint8Array.from('SIP/2.0', (c) => c.charCodeAt(0));
/** How far into the payload the request line's " SIP/2.0" is searched for. */
const MAX_REQUEST_LINE = 1024;

function matchesAt(buf: Uint8Array, off: number, end: number, word: Uint8Array): boolean {
  if (off + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (buf[off + i] !== word[i]) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function looksLikeSip(buf: Uint8Array, off: number, len: number): boolean {
  const end = Math.min(off + len, buf.length);
  if (off < 0 || end - off < 12) return false;
  // Every SIP start line begins with a capital A..U ("SIP/2.0" or a method); RTP's first byte is
  // 0x80-0xBF. Rejecting on it keeps the per-packet screen to one load and two compares, and keeps
  // this function small enough for the compiler to inline into packet loops.
  const first = buf[off];
  if (first < 65 || first > 85) return false;
  return startLineIsSip(buf, off, end, first);
}


/** The full start-line check once the first byte could begin one. */
function startLineIsSip(buf: Uint8Array, off: number, end: number, first: number): boolean {
  if (matchesAt(buf, off, end, SIP20)) {
    // "SIP/2.0 200 "
    return buf[off + 7] === 32 && isDigit(buf[off + 8]) && isDigit(buf[off + 9]) && isDigit(buf[off + 10]) && (buf[off + 11] === 32 || buf[off + 11] === 13);
  }
  let method = -1;
  for (let m = 0; m < METHODS.length; m++) {
    const w = METHODS[m];
    if (w[0] === first && matchesAt(buf, off, end, w) && off + w.length < end && buf[off + w.length] === 32) {
      method = m;
      break;
    }
  }
  if (method < 0) return false;
  // The request line ends in " SIP/2.0" followed by CRLF (or a bare LF from sloppy stacks).
  const lineLimit = Math.min(end, off + MAX_REQUEST_LINE);
  for (let i = off + METHODS[method].length + 1; i < lineLimit; i++) {
    const c = buf[i];
    if (c === 13 || c === 10) {
      const s = i - SIP20.length;
      return s > off && buf[s - 1] === 32 && matchesAt(buf, s, end, SIP20);
    }
  }
  return false;
}

/** A 64 K bitmap of ports where SIP is expected even when the content check fails (keep-alives, junk). */
export class SipPortSet {
  private readonly ports = new Uint8Array(65536);
  constructor(ports: readonly number[]) {
    for (const p of ports) if (p > 0 && p < 65536) this.ports[p] = 1;
  }
  has(port: number): boolean {
    return this.ports[port & 0xffff] === 1;
  }

  /**
   * The UDP SIP screen (the pipeline, CallTracker and the workers' BindingMirror all classify by it): a
   * datagram is SIP when either port is a SIP port or its payload looks like SIP.
   */
  isSipDatagram(srcPort: number, dstPort: number, buf: Uint8Array, off: number, len: number): boolean {
    return this.has(srcPort) || this.has(dstPort) || looksLikeSip(buf, off, len);
  }
}

const STATUS_PREFIX = Uint8Array.from('SIP/2.0 ', (c) => c.charCodeAt(0));

/**
 * True when the bytes are an unfinished first line that may still become a SIP start line (a TCP
 * segment cut inside the request/status line): a method or "SIP/2.0 " prefix and no line end yet.
 */
export function couldStartSip(buf: Uint8Array, off: number, len: number): boolean {
  const end = Math.min(off + len, buf.length);
  if (off < 0 || end <= off || end - off > MAX_REQUEST_LINE) return false;
  for (let i = off; i < end; i++) {
    const c = buf[i];
    if (c === 10 || c === 13 || (c < 32 && c !== 9) || c === 127) return false;
  }
  if (prefixOf(buf, off, end, STATUS_PREFIX)) return true;
  for (let m = 0; m < METHODS.length; m++) if (prefixOf(buf, off, end, METHODS[m]) && (end - off <= METHODS[m].length || buf[off + METHODS[m].length] === 32)) return true;
  return false;
}

/** buf[off..end) and word agree on their common length. */
function prefixOf(buf: Uint8Array, off: number, end: number, word: Uint8Array): boolean {
  const n = Math.min(end - off, word.length);
  for (let i = 0; i < n; i++) if (buf[off + i] !== word[i]) return false;
  return true;
}
