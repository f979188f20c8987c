/**
 * SIP message parser: only what call correlation needs. A mirror port can carry tens of thousands of
 * SIP messages per second (and floods), so headers are scanned as bytes and only the values correlation
 * keeps become strings (Call-ID, tags, User-Agent; the SDP only for a new message or out of a multipart
 * body: the tracker's ParsedSipMessage leaves it in place). Never throws: a bad message returns null and
 * `lastError` says why.
 */

export type MalformedReason =
  | 'none'
  | 'incomplete'
  | 'bad-start-line'
  | 'no-header-end'
  | 'missing-call-id'
  | 'missing-cseq'
  | 'bad-content-length'
  | 'body-truncated'
  | 'bad-sdp'
  | 'bad-multipart'
  | 'value-too-long';

/**
 * Bounds of the header values the call tracker keeps (RFC 3261 sets none), so that a flood of huge
 * values holds no more memory than ordinary calls. Real values are far shorter; HOMER's own schemas
 * store less: HOMER 7's call id column is varchar(256), Kamailio sipcapture's (HOMER 5) callid 100, its
 * tags 64 and its user_agent 256. A Call-ID, an A-leg id (X-CID) or a tag past its bound refuses the
 * message ('value-too-long'): cut, two ids sharing their first bytes would merge two calls. A User-Agent
 * (or Server) is only shown: it is cut to its bound.
 */
export const SIP_VALUE_LIMITS = { callIdBytes: 256, tagBytes: 128, userAgentBytes: 256 } as const;

export interface SipMessage {
  isRequest: boolean;
  /** Request method, '' for a response. */
  method: string;
  /** Response status code, 0 for a request. */
  statusCode: number;
  callId: string;
  cseqNum: number;
  cseqMethod: string;
  fromTag: string;
  toTag: string;
  /**
   * Hash of the top Via's branch parameter: the transaction the message belongs to (RFC 3261 17), as
   * a number (no string per message); -1 when the top Via has no branch.
   */
  branch: number;
  /** Value of the first configured A-leg header found (X-CID by default), '' when absent. */
  aLegId: string;
  /** User-Agent, or Server for responses that carry no User-Agent. */
  userAgent: string;
  /** Lower-case media type without parameters, '' when absent. */
  contentType: string;
  /**
   * The SDP text (extracted from multipart/mixed when needed), '' when the message has none, and when it
   * was parsed into a ParsedSipMessage with the SDP as its whole body (sdpStart..sdpEnd says where).
   */
  sdp: string;
  /** The SDP when it is the whole body: its bytes in the parsed buffer are [sdpStart, sdpEnd); -1, -1 otherwise. */
  sdpStart: number;
  sdpEnd: number;
  /** True when the datagram held fewer body bytes than Content-Length said (body ignored). */
  bodyTruncated: boolean;
  /** Bytes the message occupies in the input (headers + blank line + body). */
  length: number;
}

/**
 * A SipMessage the parser writes into. The call tracker reuses one for every message (a message is
 * handled before the next is parsed), so the packet path makes no message object per datagram; an SDP
 * body is left where it lies (sdpStart, sdpEnd), read from there without being made a string.
 */
export class ParsedSipMessage implements SipMessage {
  declare isRequest: boolean;
  declare method: string;
  declare statusCode: number;
  declare callId: string;
  declare cseqNum: number;
  declare cseqMethod: string;
  declare fromTag: string;
  declare toTag: string;
  declare branch: number;
  declare aLegId: string;
  declare userAgent: string;
  declare contentType: string;
  declare sdp: string;
  declare sdpStart: number;
  declare sdpEnd: number;
  declare bodyTruncated: boolean;
  declare length: number;

  constructor() {
    this.clear();
  }

  /** Every field as before parsing (the values a message without the header has). */
  clear(): void {
    this.isRequest = false;
    this.method = '';
    this.statusCode = 0;
    this.callId = '';
    this.cseqNum = -1;
    this.cseqMethod = '';
    this.fromTag = '';
    this.toTag = '';
    this.branch = -1;
    this.aLegId = '';
    this.userAgent = '';
    this.contentType = '';
    this.sdp = '';
    this.sdpStart = -1;
    this.sdpEnd = -1;
    this.bodyTruncated = false;
    this.length = 0;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Index just past the blank line ending the header block, or -1. Accepts CRLFCRLF and bare LFLF. */
export function findHeaderEnd(buf: Uint8Array, off: number, end: number): number {
  // Bounded by `end`: indexOf would search on through whatever the buffer holds after it (a TCP
  // connection's buffer keeps its earlier bytes).
  for (let i = off; i + 1 < end; i++) {
    if (buf[i] !== 10) continue;
    if (buf[i + 1] === 10) return i + 2;
    if (buf[i + 1] === 13 && i + 2 < end && buf[i + 2] === 10) return i + 3;
  }
  return -1;
}

export interface SipParserOptions {
  /** Header names (any case) whose value is the A-leg Call-ID of a B2BUA leg; first found wins. */
  aLegHeaders?: readonly string[];
}

// Headers the parser reads, by id. Names are matched as bytes, case-insensitively, with the compact
// forms of RFC 3261 7.3.3 (i, f, t, c, l); every other header is skipped without making a string.
const H_OTHER = 0;
const H_CALL_ID = 1;
const H_CSEQ = 2;
const H_FROM = 3;
const H_TO = 4;
const H_USER_AGENT = 5;
const H_SERVER = 6;
const H_CONTENT_TYPE = 7;
const H_CONTENT_LENGTH = 8;
const H_VIA = 9;
const H_ALEG = 10;

const ascii = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));
const NAMES: Array<[Uint8Array, number]> = [
  [ascii('call-id'), H_CALL_ID],
  [ascii('cseq'), H_CSEQ],
  [ascii('from'), H_FROM],
  [ascii('to'), H_TO],
  [ascii('user-agent'), H_USER_AGENT],
  [ascii('server'), H_SERVER],
  [ascii('content-type'), H_CONTENT_TYPE],
  [ascii('content-length'), H_CONTENT_LENGTH],
  [ascii('via'), H_VIA],
];
const COMPACT_IDS: Record<number, number> = { 105: H_CALL_ID, 102: H_FROM, 116: H_TO, 99: H_CONTENT_TYPE, 108: H_CONTENT_LENGTH, 118: H_VIA }; // i f t c l v
const APPLICATION_SDP = ascii('application/sdp');
const MULTIPART = ascii('multipart/');
const TAG = ascii('tag');
const BRANCH = ascii('branch');

/** Methods as interned strings, so the common ones cost no allocation. */
const KNOWN_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'].map((m) => ({ text: m, bytes: ascii(m) }));

const lower = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
const isWs = (c: number) => c === 32 || c === 9;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** buf[s..e) equals the lower-case ASCII `word`, ignoring case. */
function equalsIgnoreCase(buf: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  if (e - s !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(buf[s + i]) !== word[i]) return false;
  return true;
}

/** buf[s..) starts with the lower-case ASCII `word`, ignoring case. */
function startsWithIgnoreCase(buf: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  if (e - s < word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(buf[s + i]) !== word[i]) return false;
  return true;
}

export class SipParser {
  lastError: MalformedReason = 'none';
  /**
   * Bytes the last parsed message occupies, also when it was rejected (so a TCP stream can skip it) or
   * is still incomplete with its header block read; 0 when the framing itself is unknown (no header end
   * yet, or no usable Content-Length).
   */
  lastLength = 0;
  /**
   * The last message was refused for its Content-Length alone: its start line, Call-ID and CSeq were read
   * (the message written into `into` carries them), what a HOMER collector needs to store it.
   */
  lastRefusedWhole = false;
  /** A value of the message being parsed is past its bound (SIP_VALUE_LIMITS): it is refused. */
  private tooLong = false;
  private readonly aLegHeaders: Uint8Array[];
  // The message being parsed, as a Buffer view (its text slices are made by the runtime, not by JS).
  private text: Buffer = Buffer.alloc(0);
  private textOf: Uint8Array | null = null;

  // The names the parser reads, by length (the standard ones first, then the A-leg headers by rank).
  private readonly namesByLength: Array<Array<{ name: Uint8Array; id: number }> | null>;

  constructor(o: SipParserOptions = {}) {
    this.aLegHeaders = (o.aLegHeaders ?? ['X-CID']).map((h) => ascii(h.toLowerCase()));
    const all = [...NAMES.map(([name, id]) => ({ name, id })), ...this.aLegHeaders.map((name, r) => ({ name, id: H_ALEG + r }))];
    this.namesByLength = new Array<Array<{ name: Uint8Array; id: number }> | null>(Math.max(...all.map((x) => x.name.length)) + 1).fill(null);
    for (const x of all) (this.namesByLength[x.name.length] ??= []).push(x);
  }

  /**
   * Parses one message starting at `off`. `stream` (TCP): the message must be complete per
   * Content-Length, otherwise null with lastError 'incomplete'. Datagram (UDP): a missing
   * Content-Length means "the rest of the datagram"; a short body marks bodyTruncated. `into`: the
   * message is written there (cleared first) instead of into a new one, an SDP body as its bytes' place
   * only (ParsedSipMessage).
   */
  parse(buf: Uint8Array, off: number, len: number, stream: boolean, into?: ParsedSipMessage): SipMessage | null {
    this.lastError = 'none';
    this.lastLength = 0;
    this.lastRefusedWhole = false;
    this.tooLong = false;
    const end = Math.min(buf.length, off + len);
    if (off < 0 || off >= end) {
      if (stream) return this.fail('incomplete');
      return this.fail('bad-start-line');
    }
    // TCP: nothing is parsed before the whole header block is there (segments arrive one by one).
    // A datagram is complete: its header block ends at the first blank line, found by the line walk.
    let hdrEnd = -1;
    if (stream) {
      hdrEnd = findHeaderEnd(buf, off, end);
      if (hdrEnd < 0) return this.fail('incomplete');
    }
    // The capture batch (or file window) is one buffer for many messages: its Buffer view is made once.
    if (buf !== this.textOf) {
      this.textOf = buf;
      this.text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const text = this.text;
    const limit = stream ? hdrEnd : end;
    const msg = into ?? new ParsedSipMessage();
    if (into !== undefined) into.clear();
    let eol = lineEnd(text, off, limit);
    const startOk = this.parseStartLine(buf, off, trimCr(buf, off, eol), msg);

    let contentLength = -1;
    let ctStart = -1;
    let ctEnd = -1;
    let server = '';
    let aLegRank = this.aLegHeaders.length;
    let viaSeen = false;
    let ls = eol + 1;
    while (ls < limit) {
      // The blank line (LF or CRLF alone) ends the header block.
      const c0 = buf[ls];
      if (c0 === 10) {
        hdrEnd = ls + 1;
        break;
      }
      if (c0 === 13 && ls + 1 < limit && buf[ls + 1] === 10) {
        hdrEnd = ls + 2;
        break;
      }
      eol = lineEnd(text, ls, limit);
      // A header's value runs on over continuation lines (RFC 3261 7.3.1: leading SP/HT).
      let ve = eol;
      while (ve + 1 < limit && isWs(buf[ve + 1])) ve = lineEnd(text, ve + 1, limit);
      const next = ve + 1;
      // The colon is looked for on this line only: a hostile block of colon-less lines stays linear.
      let colon = ls;
      while (colon < eol && buf[colon] !== 58) colon++;
      if (colon === ls || colon >= eol) {
        ls = next; // junk line: skipped, not fatal
        continue;
      }
      let ne = colon;
      while (ne > ls && isWs(buf[ne - 1])) ne--;
      let ns = ls;
      while (ns < ne && isWs(buf[ns])) ns++;
      const id = this.headerId(buf, ns, ne);
      if (id !== H_OTHER) {
        let vs = colon + 1;
        let vEnd = trimCr(buf, vs, ve);
        while (vs < vEnd && (isWs(buf[vs]) || buf[vs] === 13 || buf[vs] === 10)) vs++;
        while (vEnd > vs && (isWs(buf[vEnd - 1]) || buf[vEnd - 1] === 13 || buf[vEnd - 1] === 10)) vEnd--;
        const folded = ve !== eol;
        switch (id) {
          case H_CALL_ID:
            if (vEnd - vs > SIP_VALUE_LIMITS.callIdBytes) this.tooLong = true;
            else if (msg.callId === '') msg.callId = this.value(vs, vEnd, folded);
            break;
          case H_CSEQ:
            parseCseq(buf, vs, vEnd, msg);
            break;
          case H_FROM:
            msg.fromTag = this.tagOf(buf, vs, vEnd);
            break;
          case H_TO:
            msg.toTag = this.tagOf(buf, vs, vEnd);
            break;
          case H_USER_AGENT:
            msg.userAgent = this.value(vs, cutUtf8(buf, vs, vEnd, SIP_VALUE_LIMITS.userAgentBytes), folded);
            break;
          case H_SERVER:
            server = this.value(vs, cutUtf8(buf, vs, vEnd, SIP_VALUE_LIMITS.userAgentBytes), folded);
            break;
          case H_CONTENT_TYPE:
            ctStart = vs;
            ctEnd = vEnd;
            msg.contentType = mediaType(buf, vs, vEnd, text);
            break;
          case H_CONTENT_LENGTH:
            contentLength = parseLength(buf, vs, vEnd);
            break;
          case H_VIA:
            if (!viaSeen) msg.branch = branchHash(buf, vs, vEnd);
            viaSeen = true;
            break;
          default: {
            const rank = id - H_ALEG;
            if (vEnd - vs > SIP_VALUE_LIMITS.callIdBytes) this.tooLong = true;
            else if (rank < aLegRank && vEnd > vs) {
              msg.aLegId = this.value(vs, vEnd, folded);
              aLegRank = rank;
            }
          }
        }
      }
      ls = next;
    }
    if (hdrEnd < 0) hdrEnd = end; // a datagram without the final blank line: headers only
    if (msg.userAgent === '') msg.userAgent = server;
    if (contentLength === -2) {
      this.lastRefusedWhole = startOk && !this.tooLong && msg.callId !== '' && msg.cseqNum >= 0;
      return this.fail('bad-content-length');
    }

    const available = end - hdrEnd;
    let bodyLen: number;
    if (contentLength < 0) {
      // TCP requires Content-Length (RFC 3261 18.3); without it assume no body so the stream stays in sync.
      bodyLen = stream ? 0 : available;
    } else if (contentLength > available) {
      if (stream) {
        this.lastLength = hdrEnd - off + contentLength; // what the stream must hold before it is worth parsing again
        return this.fail('incomplete');
      }
      msg.bodyTruncated = true;
      bodyLen = 0;
    } else bodyLen = contentLength;
    msg.length = hdrEnd - off + bodyLen;
    this.lastLength = msg.length;
    if (!startOk) return this.fail('bad-start-line');
    if (this.tooLong) return this.fail('value-too-long');
    if (msg.callId === '') return this.fail('missing-call-id');
    if (msg.cseqNum < 0) return this.fail('missing-cseq');
    if (bodyLen > 0) {
      const ct = msg.contentType;
      if (ct === 'application/sdp' || (ct === '' && startsWithSdp(buf, hdrEnd))) {
        msg.sdpStart = hdrEnd;
        msg.sdpEnd = hdrEnd + bodyLen;
        if (into === undefined) msg.sdp = this.text.toString('utf8', hdrEnd, hdrEnd + bodyLen);
      } else if (ct.startsWith('multipart/')) {
        const contentTypeFull = this.value(ctStart, ctEnd, true);
        const sdp = sdpFromMultipart(decoder.decode(buf.subarray(hdrEnd, hdrEnd + bodyLen)), contentTypeFull);
        if (sdp === null) {
          this.lastError = 'bad-multipart';
          return msg; // the SIP part is still useful; the caller counts the reason
        }
        msg.sdp = sdp;
      }
    }
    if (msg.bodyTruncated) this.lastError = 'body-truncated';
    return msg;
  }

  private fail(reason: MalformedReason): null {
    this.lastError = reason;
    return null;
  }

  /** Header id of the name buf[s..e) (H_ALEG + rank for the configured A-leg headers). */
  private headerId(buf: Uint8Array, s: number, e: number): number {
    const n = e - s;
    if (n === 1) return COMPACT_IDS[lower(buf[s])] ?? H_OTHER;
    // Only names of the same length are compared: most headers (Via, Contact, Allow...) match none.
    const names = n < this.namesByLength.length ? this.namesByLength[n] : null;
    if (names === null) return H_OTHER;
    for (let i = 0; i < names.length; i++) if (equalsIgnoreCase(buf, s, e, names[i].name)) return names[i].id;
    return H_OTHER;
  }

  /** Text of a header value; folded values have their line breaks and indents collapsed to one space. */
  private value(s: number, e: number, folded: boolean): string {
    const v = this.text.toString('utf8', s, e);
    return folded ? v.replace(/\r?\n[ \t]+/g, ' ') : v;
  }

  /** The tag parameter of a From/To value; angle-bracketed URI parameters are not header parameters. */
  private tagOf(buf: Uint8Array, s: number, e: number): string {
    let p = s;
    for (let i = e - 1; i >= s; i--) {
      if (buf[i] === 62) {
        p = i + 1; // '>'
        break;
      }
    }
    for (; p < e; p++) {
      if (buf[p] !== 59) continue; // ';'
      const q = paramValueStart(buf, p, e, TAG);
      if (q < 0) continue;
      const t = paramValueEnd(buf, q, e);
      if (t - q > SIP_VALUE_LIMITS.tagBytes) {
        this.tooLong = true;
        return '';
      }
      if (t > q) return this.text.toString('utf8', q, t);
    }
    return '';
  }

  /** "SIP/2.0 NNN ..." or "METHOD SP uri SP SIP/2.0". */
  private parseStartLine(buf: Uint8Array, s: number, e: number, msg: SipMessage): boolean {
    if (startsWithBytes(buf, s, e, SIP20_SP)) {
      const d = s + 8;
      if (d + 3 > e || !isDigit(buf[d]) || !isDigit(buf[d + 1]) || !isDigit(buf[d + 2]) || (d + 3 < e && buf[d + 3] !== 32)) return false;
      msg.statusCode = (buf[d] - 48) * 100 + (buf[d + 1] - 48) * 10 + (buf[d + 2] - 48);
      return msg.statusCode >= 100 && msg.statusCode <= 699;
    }
    let m = s;
    while (m < e && isAlpha(buf[m])) m++;
    if (m === s || m >= e || buf[m] !== 32) return false;
    // " SIP/2.0" then optional whitespace to the end of the line, with a non-empty URI before it.
    let t = e;
    while (t > m && isWs(buf[t - 1])) t--;
    const v = t - 7;
    if (v < m + 3 || !startsWithBytes(buf, v, t, SIP20) || buf[v - 1] !== 32) return false;
    let u = m + 1;
    let uriChars = 0;
    for (; u < v - 1; u++) {
      if (buf[u] === 32 || buf[u] === 9) return false; // the URI is one token
      uriChars++;
    }
    if (uriChars === 0) return false;
    msg.isRequest = true;
    msg.method = methodText(buf, s, m, this.text);
    return true;
  }
}

const SIP20 = ascii('SIP/2.0');
const SIP20_SP = ascii('SIP/2.0 ');

function startsWithBytes(buf: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  if (e - s < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[s + i] !== word[i]) return false;
  return true;
}

/** Index of the LF ending the line that starts at s (or `end`). */
function lineEnd(text: Buffer, s: number, end: number): number {
  // Buffer's indexOf (memchr) costs less per line than Uint8Array's or a byte loop.
  const i = text.indexOf(10, s);
  return i < 0 || i > end ? end : i;
}

/**
 * FNV-1a hash (32 bits) of the branch parameter of the first via-parm in buf[s..e) (a Via header value),
 * -1 when it has none. Two branches of one call colliding costs only the timing of its end line.
 */
function branchHash(buf: Uint8Array, s: number, e: number): number {
  for (let p = s; p < e; p++) {
    const c = buf[p];
    if (c === 44) return -1; // ',': the next via-parm
    if (c !== 59) continue; // ';'
    let q = paramValueStart(buf, p, e, BRANCH);
    if (q < 0) continue;
    // The value is hashed as it is read (one pass over its bytes).
    let h = 0x811c9dc5;
    for (; q < e && PARAM_END[buf[q]] === 0; q++) h = Math.imul(h ^ buf[q], 0x01000193);
    return h >>> 0;
  }
  return -1;
}

/** Start of the value of header parameter `name` (lower case) when buf[p] is the ';' before it, else -1. */
function paramValueStart(buf: Uint8Array, p: number, e: number, name: Uint8Array): number {
  let q = p + 1;
  while (q < e && isWs(buf[q])) q++;
  if (!startsWithIgnoreCase(buf, q, e, name)) return -1;
  q += name.length;
  while (q < e && isWs(buf[q])) q++;
  if (q >= e || buf[q] !== 61) return -1; // '='
  q++;
  while (q < e && isWs(buf[q])) q++;
  return q;
}

/** 1 for the bytes that end a parameter value: ';' ',' SP HT CR LF (one load per byte, not six compares). */
const PARAM_END = new Uint8Array(256);
for (const c of [59, 44, 32, 9, 13, 10]) PARAM_END[c] = 1;

/** End of a parameter value (a token) starting at q. */
function paramValueEnd(buf: Uint8Array, q: number, e: number): number {
  while (q < e && PARAM_END[buf[q]] === 0) q++;
  return q;
}

/** End of buf[s..e) cut to at most `max` bytes, not inside a UTF-8 sequence. */
function cutUtf8(buf: Uint8Array, s: number, e: number, max: number): number {
  if (e - s <= max) return e;
  let c = s + max;
  while (c > s && (buf[c] & 0xc0) === 0x80) c--;
  return c;
}

/** e, less a CR just before it. */
function trimCr(buf: Uint8Array, s: number, e: number): number {
  return e > s && buf[e - 1] === 13 ? e - 1 : e;
}

function methodText(buf: Uint8Array, s: number, e: number, text: Buffer): string {
  for (let k = 0; k < KNOWN_METHODS.length; k++) if (startsWithBytes(buf, s, e, KNOWN_METHODS[k].bytes) && e - s === KNOWN_METHODS[k].bytes.length) return KNOWN_METHODS[k].text;
  return text.toString('latin1', s, e).toUpperCase();
}

/** CSeq "NNN METHOD": up to 10 digits, whitespace, letters. */
function parseCseq(buf: Uint8Array, s: number, e: number, msg: SipMessage): void {
  let p = s;
  let n = 0;
  while (p < e && isDigit(buf[p]) && p - s < 10) n = n * 10 + (buf[p++] - 48);
  if (p === s || p >= e || !isWs(buf[p])) return;
  while (p < e && isWs(buf[p])) p++;
  let q = p;
  while (q < e && isAlpha(buf[q])) q++;
  if (q === p) return;
  msg.cseqNum = n;
  let method = '';
  for (let k = 0; k < KNOWN_METHODS.length && method === ''; k++) {
    const w = KNOWN_METHODS[k].bytes;
    if (q - p === w.length && startsWithIgnoreCase(buf, p, q, ascii_lower(k))) method = KNOWN_METHODS[k].text;
  }
  msg.cseqMethod = method !== '' ? method : String.fromCharCode(...buf.subarray(p, q)).toUpperCase();
}

const LOWER_METHODS = KNOWN_METHODS.map((m) => ascii(m.text.toLowerCase()));
function ascii_lower(k: number): Uint8Array {
  return LOWER_METHODS[k];
}

/** Content-Length: 1-9 digits, -2 when anything else. */
function parseLength(buf: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 9) return -2;
  let n = 0;
  for (let p = s; p < e; p++) {
    if (!isDigit(buf[p])) return -2;
    n = n * 10 + (buf[p] - 48);
  }
  return n;
}

/** Lower-case media type of a Content-Type value, without parameters. */
function mediaType(buf: Uint8Array, s: number, e: number, text: Buffer): string {
  let t = s;
  while (t < e && buf[t] !== 59) t++;
  while (t > s && isWs(buf[t - 1])) t--;
  if (equalsIgnoreCase(buf, s, t, APPLICATION_SDP)) return 'application/sdp';
  if (startsWithIgnoreCase(buf, s, t, MULTIPART)) return text.toString('utf8', s, t).toLowerCase();
  return text.toString('utf8', s, t).trim().toLowerCase();
}

function startsWithSdp(buf: Uint8Array, o: number): boolean {
  return buf[o] === 0x76 && buf[o + 1] === 0x3d; // "v="
}

/**
 * Finds the application/sdp part of a multipart body (RFC 2046). Returns '' when there is no SDP part,
 * null when the body does not parse (no boundary parameter or no delimiter found).
 */
export function sdpFromMultipart(body: string, contentType: string): string | null {
  const bm = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!bm) return null;
  const delimiter = '--' + (bm[1] ?? bm[2]);
  const parts = body.split(delimiter);
  if (parts.length < 3) return null;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    if (part.startsWith('--')) break; // close delimiter
    const sep = /\r?\n\r?\n/.exec(part);
    if (!sep) continue;
    const headers = part.slice(0, sep.index);
    const ct = /(?:^|\n)\s*content-type\s*:\s*([^;\r\n]+)/i.exec(headers);
    if (!ct) continue;
    const type = ct[1].trim().toLowerCase();
    let content = part.slice(sep.index + sep[0].length);
    if (content.endsWith('\r\n')) content = content.slice(0, -2); // CRLF before the next delimiter belongs to it
    else if (content.endsWith('\n')) content = content.slice(0, -1);
    if (type === 'application/sdp') return content;
    if (type.startsWith('multipart/')) {
      const inner = sdpFromMultipart(content, headers.slice(ct.index));
      if (inner) return inner;
    }
  }
  return '';
}
