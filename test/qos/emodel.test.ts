import { describe, expect, it } from 'vitest';
import {
  CodecTable, DEFAULT_DELAY_ASSUMPTIONS, R_DEFAULT, computeRFactor, delayImpairment, estimateOneWayDelay,
  fractionLost, intervalLossPct, mosFromR,
} from '../../src/qos/index.js';

// Every expected value below is a vector from REFERENCE.md 5 (ITU-T G.107 / G.113 figures) or RFC 3550.
const table = new CodecTable();
const g711 = table.byCodecName('PCMA')!;
const g711NoPlc = table.byCodecName('G711-noPLC')!;
const g729a = table.byCodecName('G.729A')!;
const round4 = (x: number) => Number(x.toFixed(4));

describe('E-model (G.107 simplified)', () => {
  it('defaults give R 93.2062077 and MOS 4.4094', () => {
    const res = computeRFactor({ lossPct: 0, burstR: 1, oneWayDelayMs: 0, codec: g711 });
    expect(res.r).toBe(R_DEFAULT);
    expect(round4(res.r)).toBe(93.2062);
    expect(round4(res.mos)).toBe(4.4094);
    expect(res.id).toBe(0);
    expect(res.ieEff).toBe(0);
  });

  const lossVectors: Array<[string, number, number, number]> = [
    ['G.711 PLC', 1, 1, 4.3282],
    ['G.711 PLC', 2, 1, 4.235],
    ['G.711 PLC', 5, 1, 3.9231],
    ['G.711 PLC', 10, 1, 3.4112],
    ['G.711 no PLC', 1, 1, 3.8339],
    ['G.711 no PLC', 5, 1, 2.1696],
    ['G.729A', 2, 1, 3.7876],
    ['G.711 PLC', 5, 2, 3.8641],
  ];
  const codecOf: Record<string, typeof g711> = { 'G.711 PLC': g711, 'G.711 no PLC': g711NoPlc, 'G.729A': g729a };
  for (const [codec, loss, burstR, mos] of lossVectors) {
    it(`${codec} at ${loss} % loss, BurstR ${burstR} -> MOS ${mos}`, () => {
      const res = computeRFactor({ lossPct: loss, burstR, oneWayDelayMs: 0, codec: codecOf[codec] });
      expect(round4(res.mos)).toBe(mos);
    });
  }

  for (const [r, mos] of [[50, 2.575], [70, 3.597], [80, 4.024], [90, 4.339]] as const) {
    it(`MOS(${r}) = ${mos}`, () => expect(Number(mosFromR(r).toFixed(3))).toBe(mos));
  }

  it('MOS is clamped to [1, 4.5]', () => {
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(3)).toBe(1); // the cubic gives < 1 here
    expect(1 + 0.035 * 3 + 3 * (3 - 60) * (100 - 3) * 7e-6).toBeLessThan(1);
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(120)).toBe(4.5);
    expect(mosFromR(Number.NaN)).toBe(1);
  });

  it('delay impairment: linear up to 177.3 ms, steeper after', () => {
    expect(delayImpairment(100)).toBeCloseTo(2.4, 10);
    expect(delayImpairment(177.3)).toBeCloseTo(0.024 * 177.3, 10);
    expect(delayImpairment(300)).toBeCloseTo(0.024 * 300 + 0.11 * (300 - 177.3), 10);
    expect(delayImpairment(-5)).toBe(0);
    const r = computeRFactor({ lossPct: 0, burstR: 1, oneWayDelayMs: 300, codec: g711 });
    expect(r.r).toBeCloseTo(R_DEFAULT - delayImpairment(300), 10);
  });

  it('negative loss (duplicates) counts as no loss, bad BurstR as random loss', () => {
    expect(computeRFactor({ lossPct: -3, burstR: 1, oneWayDelayMs: 0, codec: g711 }).r).toBe(R_DEFAULT);
    const a = computeRFactor({ lossPct: 5, burstR: Number.NaN, oneWayDelayMs: 0, codec: g711 });
    expect(round4(a.mos)).toBe(3.9231);
  });

  it('RFC 3550 fraction lost: 3 lost of 50 expected -> 15; none when lost <= 0', () => {
    expect(fractionLost(3, 50)).toBe(15);
    expect(fractionLost(-2, 50)).toBe(0);
    expect(fractionLost(0, 0)).toBe(0);
    expect(intervalLossPct(3, 50)).toBe(6);
    expect(intervalLossPct(-1, 50)).toBe(0);
  });
});

describe('codec table', () => {
  it('looks up by name case- and punctuation-insensitively', () => {
    for (const n of ['PCMA', 'pcmu', 'g711A', 'G.711', 'PCMA/8000']) expect(table.byCodecName(n)?.name).toBe('G.711 PLC');
    expect(table.byCodecName('G729')?.ie).toBe(11);
    expect(table.byCodecName('g723.1')?.bpl).toBe(16.1);
    expect(table.byCodecName('GSM-EFR')?.ie).toBe(5);
    expect(table.byCodecName('G726-32')?.ie).toBe(7);
    expect(table.byCodecName('GSM')?.ie).toBe(20);
    expect(table.byCodecName('opus')?.authoritative).toBe(false);
    expect(table.byCodecName('AMR-WB')?.authoritative).toBe(false);
    expect(table.byCodecName('nonesuch')).toBeUndefined();
  });

  it('looks up by static PT and falls back to the default entry', () => {
    expect(table.byStaticPt(0)?.name).toBe('G.711 PLC');
    expect(table.byStaticPt(8)?.name).toBe('G.711 PLC');
    expect(table.byStaticPt(18)?.name).toBe('G.729A');
    expect(table.byStaticPt(4)?.name).toBe('G.723.1');
    expect(table.byStaticPt(96)).toBeUndefined();
    expect(table.resolve(null, 111).name).toBe('default');
    expect(table.resolve('opus', 111).name).toBe('Opus');
    expect(table.resolve('nonesuch', 18).name).toBe('G.729A');
  });

  it('accepts configured overrides and refuses nonsense', () => {
    const t = new CodecTable();
    t.add({ name: 'opus', ie: 2, bpl: 30, clockRate: 48000 });
    expect(t.byCodecName('OPUS')).toMatchObject({ ie: 2, bpl: 30, authoritative: true });
    expect(() => t.add({ name: 'x', ie: Number.NaN, bpl: 1 })).toThrow(/codec 'x'/);
    expect(() => t.add({ name: 'x', ie: 1, bpl: 0 })).toThrow(/bpl/);
  });
});

describe('codec table from configuration', () => {
  it('merges config entries over the built-in ones; default replaces the fallback', () => {
    const t = CodecTable.fromConfig({ default: { ie: 0, bpl: 4.3 }, pcmu: { ie: 1, bpl: 20 } });
    expect(t.resolve('nonesuch', 111)).toMatchObject({ ie: 0, bpl: 4.3 });
    expect(t.byCodecName('PCMU')).toMatchObject({ ie: 1, bpl: 20 });
    expect(t.resolve(null, 0)).toMatchObject({ ie: 1, bpl: 20 }); // PT 0 without SDP takes the pcmu entry
    expect(t.byCodecName('PCMA')).toMatchObject({ ie: 0, bpl: 25.1 });
    expect(t.resolve(null, 8)).toMatchObject({ ie: 0, bpl: 25.1 });
    expect(t.byCodecName('g729')).toMatchObject({ ie: 11, bpl: 19 });
    expect(() => CodecTable.fromConfig({ x: { ie: 0, bpl: -1 } })).toThrow(/codec 'x'/);
  });
});

describe('one-way delay estimate', () => {
  it('uses RTT/2 plus the jitter-buffer assumption when RTCP gave a round trip', () => {
    expect(estimateOneWayDelay(100)).toMatchObject({ oneWayDelayMs: 50 + DEFAULT_DELAY_ASSUMPTIONS.jitterBufferMs, source: 'rtcp' });
  });
  it('falls back to the configured nominal network delay, plus the jitter-buffer assumption', () => {
    expect(estimateOneWayDelay(null)).toMatchObject({ oneWayDelayMs: 0, source: 'nominal' });
    expect(estimateOneWayDelay(Number.NaN, { nominalOneWayDelayMs: 80, jitterBufferMs: 20 })).toMatchObject({ oneWayDelayMs: 100, networkOneWayDelayMs: 80, source: 'nominal' });
  });
});
