import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { CAPTURES, parseTshark, runPcap, runScenario, compareToTshark, streamKey, close3, type SynthScenario, type RunResult } from './helpers.js';

const synthNames = readdirSync(`${CAPTURES}synth`).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
const publicNames = readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap')).map((f) => f.slice(0, -5));
const sharkd = JSON.parse(readFileSync(`${CAPTURES}sharkd-4.0.17-results.json`, 'utf8')) as Record<string, {
  analyse: Array<{ tap: string; seq_err: number; max_skew: number; items: Array<{ d: number; j: number; sk: number }> }>;
}>;

/** sharkd result key of a capture: synth files by name, public ones as ws_<name>[.ext]. */
function sharkdKey(name: string): string | undefined {
  const candidates = [`${name}.pcap`, name.replace(/-/g, '_') + '.pcap', `ws_${name}`, `ws_${name}.pcap`, `ws_${name}.cap`];
  return candidates.find((k) => k in sharkd);
}

function checkAgainstTshark(r: RunResult, tsharkFile: string): void {
  const rows = parseTshark(tsharkFile);
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const key = streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc);
    const snap = r.streams.get(key);
    expect(snap, `stream ${key} found`).toBeDefined();
    expect(compareToTshark(snap!, row), key).toEqual([]);
  }
}

/** sharkd prints d/j/sk with 2 decimals. */
function checkAgainstSharkd(r: RunResult, name: string): number {
  const key = sharkdKey(name);
  if (!key) return 0;
  let compared = 0;
  for (const a of sharkd[key].analyse) {
    const m = /rtp-analyse:(.*)_(\d+)_(.*)_(\d+)_0x(\w+)/.exec(a.tap)!;
    const sk = streamKey(m[1], +m[2], m[3], +m[4], parseInt(m[5], 16));
    const ours = r.perPacket.get(sk);
    expect(ours, `per-packet values of ${sk}`).toBeDefined();
    expect(ours!.length).toBe(a.items.length);
    const bad: string[] = [];
    a.items.forEach((it, i) => {
      const o = ours![i];
      const ok = Math.abs(o.d - it.d) <= 0.005 + 1e-9 && Math.abs(o.j - it.j) <= 0.005 + 1e-9 && Math.abs(o.sk - it.sk) <= 0.005 + 1e-9;
      if (!ok) bad.push(`#${i} ours d=${o.d} j=${o.j} sk=${o.sk} sharkd ${JSON.stringify(it)}`);
      compared++;
    });
    expect(bad.slice(0, 5), sk).toEqual([]);
    const snap = r.streams.get(sk)!;
    expect(snap.cumulative.seqErrors, `${sk} sequence errors`).toBe(a.seq_err);
    expect(Math.abs(snap.cumulative.maxSkewMs - a.max_skew) <= 0.0005 + 1e-9, `${sk} max skew ${snap.cumulative.maxSkewMs} vs ${a.max_skew}`).toBe(true);
  }
  return compared;
}

describe('synth scenarios (JSON description) against tshark and sharkd', () => {
  for (const name of synthNames) {
    it(name, () => {
      const sc = JSON.parse(readFileSync(`${CAPTURES}synth/${name}.json`, 'utf8')) as SynthScenario;
      const r = runScenario(sc, { wiresharkCompatibleClock: true });
      checkAgainstTshark(r, `${CAPTURES}synth/${name}.tshark.txt`);
      expect(checkAgainstSharkd(r, name)).toBe(sc.packets.length);
    });
  }
});

describe('synth pcaps through the capture reader and decoder against tshark and sharkd', () => {
  for (const name of synthNames) {
    it(name, () => {
      const r = runPcap(`${CAPTURES}synth/${name}.pcap`, { wiresharkCompatibleClock: true });
      checkAgainstTshark(r, `${CAPTURES}synth/${name}.tshark.txt`);
      checkAgainstSharkd(r, name);
    });
  }
});

describe('public captures against tshark and sharkd', () => {
  for (const name of publicNames) {
    it(name, () => {
      const tf = `${CAPTURES}${name}.tshark.txt`;
      expect(existsSync(tf)).toBe(true);
      const r = runPcap(`${CAPTURES}${name}.pcap`, { wiresharkCompatibleClock: true });
      checkAgainstTshark(r, tf);
      const n = checkAgainstSharkd(r, name);
      expect(n).toBeGreaterThan(0);
    });
  }
});

describe('Wireshark reference stream (REFERENCE.md section 4)', () => {
  it('SIP_CALL_RTP_G711 200.57.7.204:8000 -> 200.57.7.196:40376 matches Wireshark test suite values', () => {
    const r = runPcap(`${CAPTURES}SIP_CALL_RTP_G711.pcap`, { wiresharkCompatibleClock: true });
    const s = r.streams.get(streamKey('200.57.7.204', 8000, '200.57.7.196', 40376, 0xd2bd4e3e))!;
    expect(s.cumulative.packets).toBe(548);
    expect(s.wiresharkLost).toBe(0);
    expect(close3(s.cumulative.maxDeltaMs, 5843.742)).toBe(true);
    expect(Math.abs(s.cumulative.meanJitterMs - 2.517173)).toBeLessThan(5e-7);
    expect(Math.abs(s.cumulative.maxJitterMs - 7.406751)).toBeLessThan(5e-7);
    expect(close3(s.cumulative.maxSkewMs, 319.289)).toBe(true);
  });
});
