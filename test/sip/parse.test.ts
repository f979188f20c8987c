import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { multipartBody, sdpBody, sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { formatIpWords, looksLikeSip, ParsedSipMessage, parseIpWords, parseSdp, parseSdpBytes, SipParser } from '../../src/sip/index.js';

const INVITE = sipRequest('INVITE', 'sip:bob@example.com', {
  callId: 'abc@host',
  fromTag: 'ft1',
  cseq: 7,
  headers: [['User-Agent', 'Phone/1.0'], ['X-CID', 'aleg@host']],
  body: sdpBody({ ip: '192.0.2.10', media: [{ port: 4000, ptime: 20 }] }),
});

describe('looksLikeSip', () => {
  it('accepts requests and status lines, rejects near misses', () => {
    for (const ok of [INVITE, 'SIP/2.0 200 OK\r\n', 'BYE sip:x@y SIP/2.0\r\n', 'OPTIONS sip:x SIP/2.0\n', 'SIP/2.0 486 Busy Here\r\n']) {
      expect(looksLikeSip(text(ok), 0, text(ok).length), ok).toBe(true);
    }
    for (const bad of ['HTTP/1.1 200 OK\r\n', 'GET / HTTP/1.1\r\n', 'INVITEX sip:x SIP/2.0\r\n', 'INVITE sip:x SIP/3.0\r\n', 'SIP/2.0 20 OK\r\n', 'INVITE sip:x', '', '\x80\x08\x00\x01']) {
      expect(looksLikeSip(text(bad), 0, text(bad).length), bad).toBe(false);
    }
  });

  it('respects offset and length (never reads past len)', () => {
    const b = text('xxSIP/2.0 200 OK\r\n');
    expect(looksLikeSip(b, 2, b.length - 2)).toBe(true);
    expect(looksLikeSip(b, 2, 10)).toBe(false);
    const r = text('INVITE sip:x SIP/2.0\r\n');
    expect(looksLikeSip(r, 0, r.length - 3)).toBe(false);
  });

  it('never throws on random bytes or mutated messages', () => {
    const p = new SipParser();
    const base = text(INVITE);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: -5, max: 400 }), (junk, o, l) => {
        looksLikeSip(junk, o % (junk.length + 1), l);
        p.parse(junk, 0, junk.length, false);
        p.parse(junk, 0, junk.length, true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }), fc.nat(base.length), (muts, cut) => {
        const b = base.slice(0, cut);
        for (const [i, v] of muts) if (i < b.length) b[i] = v;
        looksLikeSip(b, 0, b.length);
        const m = p.parse(b, 0, b.length, false);
        if (m !== null && m.sdp !== '') parseSdp(m.sdp);
      }),
      { numRuns: 500 },
    );
  });
});

describe('SipParser', () => {
  const p = new SipParser();

  it('reads the correlation fields of a request', () => {
    const m = p.parse(text(INVITE), 0, text(INVITE).length, false)!;
    expect(m).toMatchObject({ isRequest: true, method: 'INVITE', callId: 'abc@host', cseqNum: 7, cseqMethod: 'INVITE', fromTag: 'ft1', toTag: '', aLegId: 'aleg@host', userAgent: 'Phone/1.0', contentType: 'application/sdp' });
    expect(m.sdp).toContain('m=audio 4000 RTP/AVP');
    expect(m.length).toBe(text(INVITE).length);
  });

  it("keys the transaction by the top Via's branch (first via-parm of the first Via), -1 without one", () => {
    const branch = (via: string) => {
      const raw = `SIP/2.0 486 Busy\r\n${via}\r\nCall-ID: b@h\r\nCSeq: 1 INVITE\r\n\r\n`;
      return p.parse(text(raw), 0, text(raw).length, false)!.branch;
    };
    const one = branch('Via: SIP/2.0/UDP p;branch=z9hG4bK-one');
    expect(one).toBeGreaterThanOrEqual(0);
    expect(branch('v: SIP/2.0/UDP q:5060 ; rport ; BRANCH = z9hG4bK-one;received=1.2.3.4')).toBe(one);
    expect(branch('Via: SIP/2.0/UDP p;branch=z9hG4bK-one, SIP/2.0/UDP u;branch=z9hG4bK-uac')).toBe(one);
    expect(branch('Via: SIP/2.0/UDP p;branch=z9hG4bK-one\r\nVia: SIP/2.0/UDP u;branch=z9hG4bK-uac')).toBe(one);
    expect(branch('Via: SIP/2.0/UDP p;branch=z9hG4bK-two')).not.toBe(one);
    expect(branch('Via: SIP/2.0/UDP p, SIP/2.0/UDP u;branch=z9hG4bK-one')).toBe(-1);
    expect(branch('Max-Forwards: 70')).toBe(-1);
  });

  it('handles compact forms, any case, folding and Server as user agent', () => {
    const raw =
      'SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9\r\nF: "A" <sip:a@h;tag=uri-param>;TAG=ft\r\nt: <sip:b@h>\r\n  ;tag=tt9\r\n' +
      'I: folded\r\n @id\r\ncseq: 3 invite\r\nSERVER: Srv/2\r\nc: Application/SDP; charset=x\r\nl: 0\r\n\r\n';
    const m = p.parse(text(raw), 0, text(raw).length, false)!;
    expect(m).toMatchObject({ isRequest: false, statusCode: 200, callId: 'folded @id', cseqNum: 3, cseqMethod: 'INVITE', fromTag: 'ft', toTag: 'tt9', userAgent: 'Srv/2', contentType: 'application/sdp', sdp: '' });
  });

  it('finds SDP inside multipart/mixed', () => {
    const sdp = sdpBody({ ip: '198.51.100.7', media: [{ port: 5004 }] });
    const mp = multipartBody([['application/isup', 'xx'], ['application/sdp', sdp]], 'b0und');
    const raw = sipRequest('INVITE', 'sip:b@h', { callId: 'mp', fromTag: 'a', cseq: 1, body: mp.body, contentType: mp.contentType });
    const m = p.parse(text(raw), 0, text(raw).length, false)!;
    expect(m.sdp).toBe(sdp);
  });

  it('reports why a message is rejected', () => {
    const cases: Array<[string, string]> = [
      ['INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n', 'missing-call-id'],
      ['INVITE sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n', 'missing-cseq'],
      ['INVITE sip:x SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: abc\r\n\r\n', 'bad-content-length'],
      ['HELLO\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n', 'bad-start-line'],
    ];
    for (const [raw, reason] of cases) {
      expect(p.parse(text(raw), 0, raw.length, false), reason).toBeNull();
      expect(p.lastError).toBe(reason);
    }
    const short = 'INVITE sip:x SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 100\r\n\r\nv=0\r\n';
    expect(p.parse(text(short), 0, short.length, true)).toBeNull();
    expect(p.lastError).toBe('incomplete');
    const m = p.parse(text(short), 0, short.length, false)!;
    expect(m.bodyTruncated).toBe(true);
    expect(p.lastError).toBe('body-truncated');
  });
});

describe('SipParser header walk', () => {
  /** A request with these header lines (CRLF or bare LF line ends) and a small SDP body. */
  const build = (lines: string[], eol: string) => {
    const body = `v=0${eol}c=IN IP4 192.0.2.5${eol}m=audio 7000 RTP/AVP 0${eol}`;
    return `INVITE sip:b@h SIP/2.0${eol}${lines.join(eol)}${eol}Content-Length: ${body.length}${eol}${eol}${body}`;
  };
  const FIELDS = ['isRequest', 'method', 'callId', 'cseqNum', 'cseqMethod', 'fromTag', 'toTag', 'aLegId', 'userAgent', 'contentType', 'sdp', 'length'] as const;
  const pick = (m: ReturnType<SipParser['parse']>) => (m === null ? null : Object.fromEntries(FIELDS.map((f) => [f, m[f]])));

  it('a datagram (one walk to the blank line) reads what a TCP stream (header end found first) reads', () => {
    const line = fc.oneof(
      fc.constantFrom('Call-ID: id-1@h', 'i: id-2', 'CSeq: 4 INVITE', 'From: <sip:a@h>;tag=fa', 'To: <sip:b@h>;tag=tb', 'User-Agent: UA/1', 'X-CID: aleg-7', 'Content-Type: application/sdp', 'Via: SIP/2.0/UDP h', 'Subject: hi'),
      fc.constantFrom('junk without colon', ' folded continuation', ':', 'X-Empty:', 'Contact:<sip:x@y>'),
      fc.stringMatching(/^[A-Za-z-]{1,12}: [ -~]{0,40}$/),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
        const raw = text(build(lines, eol));
        const parser = new SipParser();
        const datagram = pick(parser.parse(raw, 0, raw.length, false));
        const dErr = parser.lastError;
        const stream = pick(parser.parse(raw, 0, raw.length, true));
        expect(parser.lastError).toBe(dErr);
        expect(datagram).toEqual(stream);
      }),
      { numRuns: 400 },
    );
  });

  it('skips lines without a colon and reads the headers after them', () => {
    const raw = text(build([...Array.from({ length: 2000 }, () => 'x'.repeat(30)), 'Call-ID: after-junk', 'CSeq: 1 INVITE'], '\r\n'));
    const m = new SipParser().parse(raw, 0, raw.length, false)!;
    expect(m.callId).toBe('after-junk');
    expect(m.sdp).toContain('m=audio 7000');
  });

  it('matches configured A-leg headers of any length, also of a standard header\'s length, by rank', () => {
    const parser = new SipParser({ aLegHeaders: ['Subject', 'X-Leg-Correlation-Identifier'] }); // 7 letters, as Call-ID
    const both = text(build(['Call-ID: own', 'CSeq: 1 INVITE', 'X-Leg-Correlation-Identifier: second', 'subject: first'], '\r\n'));
    expect(parser.parse(both, 0, both.length, false)).toMatchObject({ callId: 'own', aLegId: 'first' });
    const one = text(build(['Call-ID: own', 'CSeq: 1 INVITE', 'x-leg-correlation-identifier: only'], '\r\n'));
    expect(parser.parse(one, 0, one.length, false)).toMatchObject({ callId: 'own', aLegId: 'only' });
  });
});

describe('parseSdp', () => {
  it('reads session and media level attributes', () => {
    const s = parseSdp(
      'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1/127\r\nt=0 0\r\na=sendonly\r\n' +
        'm=audio 49170 RTP/AVP 0 97 101\r\na=rtpmap:97 iLBC/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\na=rtcp:53020 IN IP4 192.0.2.9\r\n' +
        'm=video 51372/2 RTP/AVP 31 96\r\nc=IN IP6 2001:db8::7\r\na=rtpmap:96 H264/90000\r\na=rtcp-mux\r\na=recvonly\r\n' +
        'm=audio 0 RTP/AVP 8\r\nm=audio 6000 RTP/AVP 10\r\na=inactive\r\n',
    )!;
    expect(s.media.length).toBe(4);
    const [a, v, rejected, l16] = s.media;
    expect(formatIpWords(a.ip[0], a.ip[1], a.ip[2], a.ip[3])).toBe('192.0.2.1');
    expect(a).toMatchObject({ kind: 'audio', port: 49170, proto: 'RTP/AVP', formats: [0, 97, 101], ptime: 30, rtcpPort: 53020, rtcpMux: false, direction: 'sendonly' });
    expect(formatIpWords(a.rtcpIp![0], a.rtcpIp![1], a.rtcpIp![2], a.rtcpIp![3])).toBe('192.0.2.9');
    expect(a.payloads.get(0)).toEqual({ name: 'PCMU', clockRate: 8000, channels: 1 });
    expect(a.payloads.get(97)).toEqual({ name: 'iLBC', clockRate: 8000, channels: 1 });
    expect(formatIpWords(v.ip[0], v.ip[1], v.ip[2], v.ip[3])).toBe('2001:db8::7');
    expect(v).toMatchObject({ kind: 'video', port: 51372, rtcpPort: 51372, rtcpMux: true, direction: 'recvonly' });
    expect(v.payloads.get(96)?.clockRate).toBe(90000);
    expect(rejected.port).toBe(0);
    expect(l16.payloads.get(10)).toEqual({ name: 'L16', clockRate: 44100, channels: 2 });
    expect(l16).toMatchObject({ rtcpPort: 6001, direction: 'inactive' });
  });

  it('shares one array per address between SDPs and never changes one already handed out', () => {
    const a = parseSdp('v=0\r\nc=IN IP4 192.0.2.44\r\nm=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\nc=IN IP4 192.0.2.45\r\na=rtcp:4005 IN IP4 192.0.2.46\r\n')!;
    const b = parseSdp('v=0\r\nm=audio 5000 RTP/AVP 8\r\nc=IN IP4 192.0.2.44\r\n')!;
    expect(b.media[0].ip).toBe(a.media[0].ip);
    const words = (w: Uint32Array | null) => (w === null ? '' : formatIpWords(w[0], w[1], w[2], w[3]));
    // Many other addresses later (cache slots reused): the earlier SDP's arrays keep their words.
    for (let i = 0; i < 5000; i++) parseSdp(`v=0\r\nc=IN IP4 10.${(i >> 8) & 255}.${i & 255}.1\r\nm=audio 4000 RTP/AVP 0\r\n`);
    expect([words(a.media[0].ip), words(a.media[1].ip), words(a.media[1].rtcpIp), words(b.media[0].ip)]).toEqual(['192.0.2.44', '192.0.2.45', '192.0.2.46', '192.0.2.44']);
    const none = parseSdp('v=0\r\nm=audio 4000 RTP/AVP 0\r\n')!;
    expect(none.media[0]).toMatchObject({ hasIp: false });
    expect(words(none.media[0].ip)).toBe('::');
  });

  it('shares one payload map between SDPs naming the same formats in the same order', () => {
    const m = (sdp: string) => parseSdp('v=0\r\nc=IN IP4 192.0.2.1\r\n' + sdp)!.media[0].payloads;
    const a = m('m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n');
    const b = m('m=audio 4002 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n');
    const other = m('m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n');
    const order = m('m=audio 4000 RTP/AVP 101 8\r\na=rtpmap:101 telephone-event/8000\r\n');
    // a=rtpmap naming a payload type again: the type keeps its place, the later format wins (as Map.set)
    const again = m('m=audio 4000 RTP/AVP 96 97\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 AMR/8000\r\na=rtpmap:96 G7221/16000\r\n');
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    expect([...a]).toEqual([[101, { name: 'telephone-event', clockRate: 8000, channels: 1 }], [8, { name: 'PCMA', clockRate: 8000, channels: 1 }]]);
    expect([...other.keys()]).toEqual([101, 0]);
    expect([...order.keys()]).toEqual([101, 8]);
    expect([...again].map(([pt, f]) => [pt, f.name, f.clockRate])).toEqual([[96, 'G7221', 16000], [97, 'AMR', 8000]]);
  });

  it('marks secure profiles (their RTCP is SRTCP)', () => {
    const sdp = (proto: string) => parseSdp(`v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 ${proto} 0\r\n`)!.media[0].secure;
    expect(['RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVPF', 'udptl'].map(sdp)).toEqual([false, false, true, true, true, false]);
  });

  it('treats an FQDN connection address as unbindable and garbage as not SDP', () => {
    const s = parseSdp('v=0\r\nc=IN IP4 host.example\r\nm=audio 4000 RTP/AVP 0\r\n')!;
    expect(s.media[0].hasIp).toBe(false);
    expect(parseSdp('hello world')).toBeNull();
  });

  it('parses IPv4, IPv6 and IPv4-embedded IPv6 text', () => {
    const w = new Uint32Array(4);
    for (const [t, back] of [['10.1.2.3', '10.1.2.3'], ['::1', '::1'], ['fe80::1:2', 'fe80::1:2'], ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], ['::ffff:1.2.3.4', '1.2.3.4']]) {
      expect(parseIpWords(t, w), t).toBe(true);
      expect(formatIpWords(w[0], w[1], w[2], w[3])).toBe(back);
    }
    for (const bad of ['1.2.3', '1.2.3.256', '1::2::3', 'x', '1.2.3.4.5', '12345::', '']) expect(parseIpWords(bad, w), bad).toBe(false);
  });
});

describe('parseSdp with a media limit', () => {
  it('parses the first maxMedia m= sections and counts the rest (a hostile SDP costs no more)', () => {
    const text20 = sdpBody({ ip: '10.0.0.1', media: Array.from({ length: 20 }, (_, i) => ({ port: 4000 + 2 * i, ptime: 20 + i })) });
    const all = parseSdp(text20)!;
    const first = parseSdp(text20, 8)!;
    expect(all.media.length).toBe(20);
    expect(first.mediaLines).toBe(20);
    expect(first.media.map((m) => [m.port, m.ptime])).toEqual(all.media.slice(0, 8).map((m) => [m.port, m.ptime]));
  });
});

describe('parseSdpBytes', () => {
  const words = (w: Uint32Array | null) => (w === null ? null : formatIpWords(w[0], w[1], w[2], w[3]));
  // What follows the SDP in the buffer (the next packet of a capture) spells an address and another m= line.
  const inPlace = (sdp: string) => {
    const body = Buffer.from(sdp);
    const buf = Buffer.concat([Buffer.from('SIP headers\r\n\r\n'), body, Buffer.from(' IP4 10.9.9.9\r\nm=audio 5000 RTP/AVP 0\r\n')]);
    return parseSdpBytes(buf, 15, 15 + body.length)!;
  };

  it('reads the SDP where it lies in a buffer, never past its end', () => {
    const c = inPlace('v=0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN');
    expect(c.media.map((m) => [m.port, m.hasIp])).toEqual([[4000, false]]);
    const r = inPlace('v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4009 IN');
    expect(r.media.map((m) => [m.rtcpPort, words(m.rtcpIp), words(m.ip)])).toEqual([[4009, null, '192.0.2.1']]);
    expect(r.mediaLines).toBe(1);
  });

  it('reads tokens that are not ASCII as their text, bounded in characters', () => {
    const s = inPlace(`v=0\r\nm=áudio 4000 RTP/ÄVP 96 97\r\na=rtpmap:96 ${'é'.repeat(64)}/8000\r\na=rtpmap:97 ${'é'.repeat(65)}/8000\r\n`);
    const m = s.media[0];
    expect([m.kind, m.proto, m.payloads.get(96)?.name, m.payloads.has(97)]).toEqual(['áudio', 'RTP/ÄVP', 'é'.repeat(64), false]);
    expect(parseSdp(`v=0\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 \ufeffX/8000\r\n`)!.media[0].payloads.get(96)?.name).toBe('\ufeffX');
  });
});

describe('SipParser into a ParsedSipMessage', () => {
  it('reads what a new message reads, and leaves the SDP body where it lies', () => {
    const parser = new SipParser();
    const into = new ParsedSipMessage();
    const bytes = text(INVITE);
    const fresh = parser.parse(bytes, 0, bytes.length, false)!;
    parser.parse(text(sipResponse(486, { callId: 'other@host', cseq: 1, cseqMethod: 'INVITE', toTag: 'tt', headers: [['Server', 'x']] })), 0, 200, false, into);
    const reused = parser.parse(bytes, 0, bytes.length, false, into)!;
    expect(reused).toBe(into);
    expect(Buffer.from(bytes).toString('utf8', reused.sdpStart, reused.sdpEnd)).toBe(fresh.sdp);
    expect({ ...reused, sdp: fresh.sdp }).toEqual({ ...fresh });
  });
});
