/**
 * SIP message parser: only what call correlation needs. SIP is a few hundred messages per second at
 * most, so this allocates strings freely; the RTP hot path never comes here. Never throws: a bad
 * message returns null and `lastError` says why.
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
  | 'bad-multipart';

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
  /** Value of the first configured A-leg header found (X-CID by default), '' when absent. */
  aLegId: string;
  /** User-Agent, or Server for responses that carry no User-Agent. */
  userAgent: string;
  /** Lower-case media type without parameters, '' when absent. */
  contentType: string;
  /** The SDP text (extracted from multipart/mixed when needed), '' when the message has none. */
  sdp: string;
  /** True when the datagram held fewer body bytes than Content-Length said (body ignored). */
  bodyTruncated: boolean;
  /** Bytes the message occupies in the input (headers + blank line + body). */
  length: number;
}

// Compact forms (RFC 3261 7.3.3 and extensions) we need, mapped to full names.
const COMPACT: Record<string, string> = {
  i: 'call-id',
  v: 'via',
  f: 'from',
  t: 'to',
  l: 'content-length',
  c: 'content-type',
  m: 'contact',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
};

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Index just past the blank line ending the header block, or -1. Accepts CRLFCRLF and bare LFLF. */
export function findHeaderEnd(buf: Uint8Array, off: number, end: number): number {
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

export class SipParser {
  lastError: MalformedReason = 'none';
  /**
   * Bytes the last parsed message occupies, also when it was rejected (so a TCP stream can skip it);
   * 0 when the framing itself is unknown (incomplete, or no usable Content-Length).
   */
  lastLength = 0;
  private readonly aLegHeaders: string[];

  constructor(o: SipParserOptions = {}) {
    this.aLegHeaders = (o.aLegHeaders ?? ['X-CID']).map((h) => h.toLowerCase());
  }

  /**
   * Parses one message starting at `off`. `stream` (TCP): the message must be complete per
   * Content-Length, otherwise null with lastError 'incomplete'. Datagram (UDP): a missing
   * Content-Length means "the rest of the datagram"; a short body marks bodyTruncated.
   */
  parse(buf: Uint8Array, off: number, len: number, stream: boolean): SipMessage | null {
    this.lastError = 'none';
    this.lastLength = 0;
    const end = Math.min(buf.length, off + len);
    let hdrEnd = findHeaderEnd(buf, off, end);
    if (hdrEnd < 0) {
      if (stream) return this.fail('incomplete');
      hdrEnd = end; // tolerate a datagram without the final blank line: headers only
    }
    const head = decoder.decode(buf.subarray(off, hdrEnd));
    const lines = head.split(/\r?\n/);
    const start = lines[0];
    const msg: SipMessage = {
      isRequest: false,
      method: '',
      statusCode: 0,
      callId: '',
      cseqNum: -1,
      cseqMethod: '',
      fromTag: '',
      toTag: '',
      aLegId: '',
      userAgent: '',
      contentType: '',
      sdp: '',
      bodyTruncated: false,
      length: 0,
    };
    const startOk = parseStartLine(start, msg);

    let contentLength = -1;
    let contentTypeFull = '';
    let server = '';
    let aLegRank = this.aLegHeaders.length;
    // Unfold continuation lines (RFC 3261 7.3.1: leading SP/HT continues the previous header).
    let name = '';
    let value = '';
    for (let i = 1; i <= lines.length; i++) {
      const line = i < lines.length ? lines[i] : '';
      if (i < lines.length && line.length > 0 && (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9)) {
        if (name !== '') value += ' ' + line.trim();
        continue;
      }
      if (name !== '') {
        switch (name) {
          case 'call-id':
            if (msg.callId === '') msg.callId = value;
            break;
          case 'cseq': {
            const m = /^(\d{1,10})\s+([A-Za-z]+)/.exec(value);
            if (m) {
              msg.cseqNum = Number(m[1]);
              msg.cseqMethod = m[2].toUpperCase();
            }
            break;
          }
          case 'from':
            msg.fromTag = tagOf(value);
            break;
          case 'to':
            msg.toTag = tagOf(value);
            break;
          case 'user-agent':
            msg.userAgent = value;
            break;
          case 'server':
            server = value;
            break;
          case 'content-type':
            contentTypeFull = value;
            msg.contentType = value.split(';')[0].trim().toLowerCase();
            break;
          case 'content-length':
            contentLength = /^\d{1,9}$/.test(value) ? Number(value) : -2;
            break;
          default: {
            const rank = this.aLegHeaders.indexOf(name);
            if (rank >= 0 && rank < aLegRank && value !== '') {
              msg.aLegId = value;
              aLegRank = rank;
            }
          }
        }
      }
      name = '';
      value = '';
      const colon = line.indexOf(':');
      if (colon <= 0) continue; // junk line or the blank end line: skipped, not fatal
      name = line.slice(0, colon).trim().toLowerCase();
      if (name.length === 1) name = COMPACT[name] ?? name;
      value = line.slice(colon + 1).trim();
    }
    if (msg.userAgent === '') msg.userAgent = server;
    if (contentLength === -2) return this.fail('bad-content-length');

    const available = end - hdrEnd;
    let bodyLen: number;
    if (contentLength < 0) {
      // TCP requires Content-Length (RFC 3261 18.3); without it assume no body so the stream stays in sync.
      bodyLen = stream ? 0 : available;
    } else if (contentLength > available) {
      if (stream) return this.fail('incomplete');
      msg.bodyTruncated = true;
      bodyLen = 0;
    } else bodyLen = contentLength;
    msg.length = hdrEnd - off + bodyLen;
    this.lastLength = msg.length;
    if (!startOk) return this.fail('bad-start-line');
    if (msg.callId === '') return this.fail('missing-call-id');
    if (msg.cseqNum < 0) return this.fail('missing-cseq');
    if (bodyLen > 0) {
      const ct = msg.contentType;
      if (ct === 'application/sdp' || (ct === '' && startsWithSdp(buf, hdrEnd))) {
        msg.sdp = decoder.decode(buf.subarray(hdrEnd, hdrEnd + bodyLen));
      } else if (ct.startsWith('multipart/')) {
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
}

function startsWithSdp(buf: Uint8Array, o: number): boolean {
  return buf[o] === 0x76 && buf[o + 1] === 0x3d; // "v="
}

function parseStartLine(line: string, msg: SipMessage): boolean {
  if (line.startsWith('SIP/2.0 ')) {
    const m = /^SIP\/2\.0 (\d{3})(?: |$)/.exec(line);
    if (!m) return false;
    msg.statusCode = Number(m[1]);
    return msg.statusCode >= 100 && msg.statusCode <= 699;
  }
  const m = /^([A-Za-z]+) \S+ SIP\/2\.0\s*$/.exec(line);
  if (!m) return false;
  msg.isRequest = true;
  msg.method = m[1].toUpperCase();
  return true;
}

/** The tag parameter of a From/To value; angle-bracketed URI parameters are not header parameters. */
function tagOf(value: string): string {
  const gt = value.lastIndexOf('>');
  const params = gt >= 0 ? value.slice(gt + 1) : value;
  const m = /;\s*tag\s*=\s*([^;,\s]+)/i.exec(params);
  return m ? m[1] : '';
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
