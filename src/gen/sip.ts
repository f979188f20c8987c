/**
 * SIP/SDP message builders for the project's own fixtures (test/sip and others). Text in, text out:
 * pass the result through `text()` from packets.ts to get bytes for udpFrame/tcpFrame.
 */

export interface SdpMediaSpec {
  kind?: string; // default "audio"
  port: number;
  proto?: string; // default "RTP/AVP"
  /** Formats on the m= line: payload types, or names for non-RTP media ("t38"). Default [0, 8, 101]. */
  formats?: Array<number | string>;
  /** Extra a=rtpmap lines: [pt, "name/rate[/channels]"]. */
  rtpmap?: Array<[number, string]>;
  /** a=fmtp lines: [pt, parameters] ("apt=96" for an RTX format). */
  fmtp?: Array<[number, string]>;
  /** Media-level c= address. */
  ip?: string;
  ptime?: number;
  rtcp?: number | { port: number; ip: string };
  rtcpMux?: boolean;
  direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

export interface SdpSpec {
  /** Session-level c= address (omitted when undefined). */
  ip?: string;
  direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  media: SdpMediaSpec[];
  sessionVersion?: number;
}

function addrType(ip: string): string {
  return ip.includes(':') ? 'IP6' : 'IP4';
}

export function sdpBody(s: SdpSpec): string {
  const origin = s.ip ?? s.media.find((m) => m.ip)?.ip ?? '0.0.0.0';
  const lines = ['v=0', `o=- 1 ${s.sessionVersion ?? 1} IN ${addrType(origin)} ${origin}`, 's=-'];
  if (s.ip !== undefined) lines.push(`c=IN ${addrType(s.ip)} ${s.ip}`);
  lines.push('t=0 0');
  if (s.direction) lines.push(`a=${s.direction}`);
  for (const m of s.media) {
    const formats = m.formats ?? [0, 8, 101];
    lines.push(`m=${m.kind ?? 'audio'} ${m.port} ${m.proto ?? 'RTP/AVP'} ${formats.join(' ')}`);
    if (m.ip !== undefined) lines.push(`c=IN ${addrType(m.ip)} ${m.ip}`);
    for (const [pt, enc] of m.rtpmap ?? (formats.includes(101) ? [[101, 'telephone-event/8000'] as [number, string]] : [])) lines.push(`a=rtpmap:${pt} ${enc}`);
    for (const [pt, params] of m.fmtp ?? []) lines.push(`a=fmtp:${pt} ${params}`);
    if (m.ptime !== undefined) lines.push(`a=ptime:${m.ptime}`);
    if (typeof m.rtcp === 'number') lines.push(`a=rtcp:${m.rtcp}`);
    else if (m.rtcp) lines.push(`a=rtcp:${m.rtcp.port} IN ${addrType(m.rtcp.ip)} ${m.rtcp.ip}`);
    if (m.rtcpMux) lines.push('a=rtcp-mux');
    if (m.direction) lines.push(`a=${m.direction}`);
  }
  return lines.join('\r\n') + '\r\n';
}

export interface SipMessageSpec {
  callId: string;
  fromTag?: string;
  toTag?: string;
  cseq: number;
  /** CSeq method (defaults to the request method; required for responses). */
  cseqMethod?: string;
  /** Extra headers, in order, e.g. [['X-CID', 'abc'], ['User-Agent', 'phone']]. */
  headers?: Array<[string, string]>;
  body?: string;
  contentType?: string;
  /** Use compact header names (i:, f:, t:, l:, c:, v:). */
  compact?: boolean;
  /** Leave Content-Length out (legal over UDP). */
  omitContentLength?: boolean;
  /** Via host (default "192.0.2.1:5060"). */
  via?: string;
  /** Via branch, the transaction's id (default "z9hG4bK" + CSeq number + method: one per transaction of a dialog). */
  branch?: string;
}

function headerBlock(startLine: string, s: SipMessageSpec, cseqMethod: string): string {
  const c = s.compact === true;
  const body = s.body ?? '';
  const h: string[] = [startLine];
  h.push(`${c ? 'v' : 'Via'}: SIP/2.0/UDP ${s.via ?? '192.0.2.1:5060'};branch=${s.branch ?? `z9hG4bK${s.cseq}${cseqMethod.toLowerCase()}`}`);
  h.push(`${c ? 'f' : 'From'}: <sip:alice@example.com>${s.fromTag !== undefined ? `;tag=${s.fromTag}` : ''}`);
  h.push(`${c ? 't' : 'To'}: <sip:bob@example.com>${s.toTag !== undefined ? `;tag=${s.toTag}` : ''}`);
  h.push(`${c ? 'i' : 'Call-ID'}: ${s.callId}`);
  h.push(`CSeq: ${s.cseq} ${cseqMethod}`);
  h.push('Max-Forwards: 70');
  for (const [n, v] of s.headers ?? []) h.push(`${n}: ${v}`);
  if (body !== '') h.push(`${c ? 'c' : 'Content-Type'}: ${s.contentType ?? 'application/sdp'}`);
  if (!s.omitContentLength) h.push(`${c ? 'l' : 'Content-Length'}: ${Buffer.byteLength(body, 'utf8')}`);
  return h.join('\r\n') + '\r\n\r\n' + body;
}

export function sipRequest(method: string, uri: string, s: SipMessageSpec): string {
  return headerBlock(`${method} ${uri} SIP/2.0`, s, s.cseqMethod ?? method);
}

const REASONS: Record<number, string> = { 100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 401: 'Unauthorized', 407: 'Proxy Authentication Required', 486: 'Busy Here', 487: 'Request Terminated', 603: 'Decline' };

export function sipResponse(status: number, s: SipMessageSpec & { cseqMethod: string }): string {
  return headerBlock(`SIP/2.0 ${status} ${REASONS[status] ?? 'Status'}`, s, s.cseqMethod);
}

/** multipart/mixed body and its Content-Type value; parts are [contentType, content]. */
export function multipartBody(parts: Array<[string, string]>, boundary = 'unique-boundary-1'): { body: string; contentType: string } {
  let body = '';
  for (const [ct, content] of parts) body += `--${boundary}\r\nContent-Type: ${ct}\r\n\r\n${content}\r\n`;
  body += `--${boundary}--\r\n`;
  return { body, contentType: `multipart/mixed;boundary=${boundary}` };
}
