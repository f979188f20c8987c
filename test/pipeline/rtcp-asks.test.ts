/**
 * RtcpAsks (worker mode, main thread): RTCP of a stream without SIP read by another worker than its RTP's
 * goes to the sink once, under the id a worker answers, or uncorrelated; at most `max` wait for answers.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/pipeline/report-sink.js';
import { HeldAsks, type RtcpAsk } from '../../src/pipeline/workers/held-asks.js';
import { RtcpAsks, type UnmatchedRtcp } from '../../src/pipeline/workers/rtcp-asks.js';

function compound(n: number): UnmatchedRtcp {
  const env = { srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 4001, dstPort: 6001, ipVersion: 4, tsMs: 1_700_000_000_000 + n } as unknown as Envelope;
  return { json: `{"n":${n}}`, env, lookup: { ssrc: n, src: [0, 0, 0, 0x0a000001], dst: [0, 0, 0, 0x0a000002], srcPort: 4001, dstPort: 6001 }, compound: Uint8Array.of(0x80, 0xc8, n) };
}

function sent(): { sink: { rtcp: (json: string, env: Envelope, callId: string | null) => void }; out: string[] } {
  const out: string[] = [];
  return { out, sink: { rtcp: (json, _env, callId) => out.push(`${json} ${callId}`) } };
}

describe('RtcpAsks', () => {
  it('the first answer naming an id sends the compound under it; none from every asked worker sends it uncorrelated', () => {
    const { sink, out } = sent();
    const asks = new RtcpAsks(sink, 16);
    const a = asks.ask(compound(1), [1, 2]);
    const b = asks.ask(compound(2), [1, 2]);
    asks.answer(a, 1, null);
    expect(out).toEqual([]);
    asks.answer(a, 2, 'rtpprobe-x');
    asks.answer(b, 2, null);
    asks.answer(b, 2, 'not twice'); // a worker answers once; a repeat is not a second answer
    expect(out).toEqual(['{"n":1} rtpprobe-x']);
    asks.answer(b, 1, null);
    expect(out).toEqual(['{"n":1} rtpprobe-x', '{"n":2} null']);
    asks.answer(a, 1, 'late'); // settled: nothing more
    expect(out.length).toBe(2);
    expect(asks.size).toBe(0);
  });

  it('no other worker: uncorrelated at once, not counted as overflow', () => {
    const { sink, out } = sent();
    const asks = new RtcpAsks(sink, 16);
    expect(asks.ask(compound(1), [])).toBe(-1);
    expect(out).toEqual(['{"n":1} null']);
    expect(asks.overflow).toBe(0);
  });

  it('a flood of RTCP from unknown flows: at most max wait, the rest go uncorrelated at once, each compound sent once', () => {
    const { sink, out } = sent();
    const asks = new RtcpAsks(sink, 100);
    const seqs: number[] = [];
    for (let n = 0; n < 10_000; n++) seqs.push(asks.ask(compound(n), [1]));
    expect(asks.size).toBe(100);
    expect(asks.overflow).toBe(9_900);
    expect(out.length).toBe(9_900);
    expect(seqs.filter((s) => s >= 0).length).toBe(100);
    asks.answer(seqs[0]!, 1, 'rtpprobe-y');
    expect(out[out.length - 1]).toBe('{"n":0} rtpprobe-y');
    // The worker is gone (done, or exited): what waited for its answer alone goes uncorrelated.
    asks.workerGone(1);
    expect(asks.size).toBe(0);
    expect(out.length).toBe(10_000);
    expect(new Set(out.map((o) => o.split(' ')[0])).size).toBe(10_000);
  });

  it('a worker gone while another has still to answer: the compound waits for that one', () => {
    const { sink, out } = sent();
    const asks = new RtcpAsks(sink, 16);
    const a = asks.ask(compound(1), [1, 2]);
    asks.workerGone(1);
    expect(out).toEqual([]);
    asks.answer(a, 2, 'rtpprobe-z');
    expect(out).toEqual(['{"n":1} rtpprobe-z']);
  });
});

describe('HeldAsks (a media worker answering RtcpAsks)', () => {
  const ask = (seq: number, rawMs: number): RtcpAsk => [seq, compound(seq).lookup, rawMs];
  /** A worker holding the stream of SSRC 2 once `started`. */
  const holder = () => {
    const w = { started: false };
    return { w, find: (l: { ssrc: number }) => (w.started && l.ssrc === 2 ? 'rtpprobe-two' : null) };
  };

  it('a stream found answers at once; none found answers null only once this worker has read past the compound', () => {
    const held = new HeldAsks(2000);
    const { w, find } = holder();
    w.started = true;
    // Read through 1000: the compound of 900 is answered (none), that of 1100 waits, the found one goes.
    expect(held.answer([ask(1, 900), ask(2, 1100), ask(3, 1100)], 1000, 0, false, find)).toEqual([[1, null], [2, 'rtpprobe-two']]);
    expect(held.length).toBe(1);
    expect(held.answer([], 1050, 10, false, find)).toEqual([]);
    expect(held.answer([], 1100, 20, false, find)).toEqual([[3, null]]);
    expect(held.length).toBe(0);
  });

  it('a stream whose first packets this worker reads after the question: the held question gets its id', () => {
    const held = new HeldAsks(2000);
    const { w, find } = holder();
    expect(held.answer([ask(2, 1100)], 1000, 0, false, find)).toEqual([]);
    w.started = true; // the next batch started it
    expect(held.answer([], 1200, 5, false, find)).toEqual([[2, 'rtpprobe-two']]);
  });

  it('the wait ends after the wall-clock limit, or at once when the capture is drained', () => {
    const held = new HeldAsks(2000);
    const { find } = holder();
    expect(held.answer([ask(5, 5000), ask(6, 5000)], 1000, 100, false, find)).toEqual([]);
    expect(held.answer([ask(7, 5000)], 1000, 2099, false, find)).toEqual([]);
    expect(held.answer([], 1000, 2100, false, find)).toEqual([[5, null], [6, null]]);
    expect(held.answer([], 1000, 2101, true, find)).toEqual([[7, null]]);
  });
});
