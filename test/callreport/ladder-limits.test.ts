/**
 * What the call ladders keep of SIP text is bounded: the live call page (metrics.live_page) of a probe
 * that runs for months on a mirror port that carries floods keeps its 2,000 dialogs' ladders in a fixed
 * budget, whatever the messages hold. Heap is measured after full collections.
 */
import { describe, expect, it } from 'vitest';
import { heapAfterGc as heap } from '../heap.js';
import { CallReportRecorder, DEFAULT_CALL_REPORT_LIMITS, LADDER_TEXT_LIMITS } from '../../src/callreport/index.js';
import { LiveCallPageOutput } from '../../src/outbound/live-page-output.js';


const enc = new TextEncoder();
const env = (tsMs: number) => ({ ipVersion: 4, srcIp: '10.0.0.1', srcPort: 5060, dstIp: '10.0.0.2', dstPort: 5060, tsMs });
/** A provisional answer with a 4 KB reason phrase, a 2 KB CSeq number and a 2 KB From user. */
const hostile = (c: number, m: number) =>
  `SIP/2.0 183 ${'R'.repeat(4000)}-${c}-${m}\r\nCall-ID: flood-${c}@x\r\nCSeq: ${'9'.repeat(2000)}${m} INVITE\r\nFrom: <sip:${'u'.repeat(2000)}${c}@x>;tag=1\r\nTo: <sip:b@x>\r\n\r\n`;

describe('call ladders: SIP text kept', () => {
  it('the live page keeps a reason phrase, CSeq and From/To cut to their bounds: 20,000 messages of 8 KB hold less than 40 MB', () => {
    const page = new LiveCallPageOutput(5, 'lo');
    const warm = hostile(0, 0);
    page.write({ kind: 'sip', bytes: enc.encode(warm), env: env(0), callId: 'flood-0@x', method: 'INVITE', statusCode: 183 });
    const h0 = heap();
    for (let c = 0; c < 2000; c++)
      for (let m = 0; m < 10; m++) page.write({ kind: 'sip', bytes: enc.encode(hostile(c, m)), env: env(1000 + c * 10 + m), callId: `flood-${c}@x`, method: 'INVITE', statusCode: 183 });
    const grown = heap() - h0;
    const data = page.snapshot();
    expect(grown, `heap grew ${(grown / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(40 * 2 ** 20);
    expect(data.calls.length + data.otherDialogs).toBeGreaterThan(0); // what it keeps is still shown
  });

  it('a label, CSeq, From/To and SDP line past their bounds are cut with an ellipsis; real ones are kept whole', () => {
    const r = new CallReportRecorder();
    const sdp = `v=0\r\nc=IN IP4 192.0.2.7\r\nm=audio 4002 RTP/AVP ${Array.from({ length: 100 }, (_, k) => k).join(' ')}\r\n`;
    r.onSip({ ...env(0), callId: 'c1', text: `INVITE sip:b@x SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nFrom: <sip:alice@a.example>;tag=1\r\nTo: <sip:bob@b.example>\r\n\r\n` });
    r.onSip({ ...env(1), callId: 'c1', text: `SIP/2.0 183 ${'R'.repeat(500)}\r\nCall-ID: c1\r\nCSeq: ${'9'.repeat(100)} INVITE\r\nContent-Type: application/sdp\r\n\r\n${sdp}` });
    const call = r.build('t', 1).calls[0]!;
    expect(call).toMatchObject({ from: 'alice@a.example', to: 'bob@b.example' });
    expect(call.messages[0]).toMatchObject({ label: 'INVITE', cseq: '1 INVITE' });
    const cut = call.messages[1]!;
    expect(cut.label).toBe(`183 ${'R'.repeat(LADDER_TEXT_LIMITS.label - 5)}…`);
    expect(cut.cseq).toBe(`${'9'.repeat(LADDER_TEXT_LIMITS.cseq - 1)}…`);
    expect(cut.sdp[0]!.length).toBe(LADDER_TEXT_LIMITS.sdpLine);
    expect(cut.sdp[0]!.endsWith('…')).toBe(true);
  });

  it('an SDP with more media sections than a ladder keeps: the kept lines, then one saying how many more there were', () => {
    const r = new CallReportRecorder();
    const media = Array.from({ length: 12 }, (_, k) => `m=audio ${4000 + 2 * k} RTP/AVP 8\r\n`).join('');
    r.onSip({ ...env(0), callId: 'c1', text: `INVITE sip:b@x SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nc=IN IP4 192.0.2.7\r\n${media}` });
    const sdp = r.build('t', 1).calls[0]!.messages[0]!.sdp;
    expect(sdp.slice(0, LADDER_TEXT_LIMITS.sdpLines)).toEqual(Array.from({ length: LADDER_TEXT_LIMITS.sdpLines }, (_, k) => `audio 192.0.2.7:${4000 + 2 * k} PCMA/8000 sendrecv`));
    expect(sdp.slice(LADDER_TEXT_LIMITS.sdpLines)).toEqual([`… ${12 - LADDER_TEXT_LIMITS.sdpLines} more media sections`]);
  });

  it('past ladderChars the least recently active dialogs are forgotten, the others (OPTIONS pings) before calls', () => {
    const r = new CallReportRecorder({ ...DEFAULT_CALL_REPORT_LIMITS, ladderChars: 50_000 });
    const msg = (id: string, method: string, t: number) => ({ ...env(t), callId: id, text: `${method} sip:b@x SIP/2.0\r\nCall-ID: ${id}\r\nCSeq: 1 ${method}\r\n\r\n` });
    for (let c = 0; c < 100; c++) r.onSip(msg(`call-${c}`, 'INVITE', c));
    for (let o = 0; o < 1000; o++) r.onSip(msg(`ping-${o}`, 'OPTIONS', 100 + o));
    const d = r.build('t', 1);
    expect(d.calls.map((c) => c.callId)).toEqual(expect.arrayContaining(Array.from({ length: 100 }, (_, c) => `call-${c}`)));
    expect(d.otherDialogs).toBeLessThan(1000);
    for (let c = 100; c < 1000; c++) r.onSip(msg(`call-${c}`, 'INVITE', 2000 + c));
    const ids = r.build('t', 1).calls.map((c) => c.callId);
    expect(ids).toContain('call-999');
    expect(ids).not.toContain('call-0');
    expect(ids.length).toBeLessThan(1000);
  });
});
