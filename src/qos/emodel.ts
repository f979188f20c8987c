import type { CodecParams } from './codecs.js';

/**
 * ITU-T G.107 E-model, simplified as in REFERENCE.md 5:
 *   R = R_default - Id(d) - Ie,eff
 * R_default = Ro - Is + A with every G.107 default parameter (T = 0 so its own Id terms are the default
 * ones): 93.2062077. The simplified delay impairment Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3) is
 * applied on top of it, so d = 0 reproduces the G.107 default R exactly (and the published vectors).
 */
export const R_DEFAULT = 93.2062077;

export interface RFactorInput {
  /** Packet loss of ONE interval in percent (never cumulative: homer#258). Negative values clamp to 0. */
  lossPct: number;
  /** Gilbert-model burst ratio 1/(p+q); 1 for random loss. Non-finite or <= 0 counts as 1. */
  burstR: number;
  /** Mouth-to-ear one-way delay estimate in ms. */
  oneWayDelayMs: number;
  codec: CodecParams;
}

export interface RFactorResult {
  r: number;
  mos: number;
  ieEff: number;
  id: number;
}

/** Delay impairment (ms in): Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3). */
export function delayImpairment(oneWayDelayMs: number): number {
  const d = oneWayDelayMs > 0 ? oneWayDelayMs : 0;
  return 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
}

/** Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl). */
export function effectiveEquipmentImpairment(ie: number, bpl: number, lossPct: number, burstR: number): number {
  const ppl = lossPct > 0 ? (lossPct > 100 ? 100 : lossPct) : 0;
  const br = burstR > 0 && Number.isFinite(burstR) ? burstR : 1;
  return ie + ((95 - ie) * ppl) / (ppl / br + bpl);
}

/** G.107 R -> MOS, clamped to [1, 4.5] (the cubic dips below 1 for 0 < R < 6.5). */
export function mosFromR(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}

export function computeRFactor(input: RFactorInput): RFactorResult {
  return rFactorInto({ r: 0, mos: 0, ieEff: 0, id: 0 }, input.lossPct, input.burstR, input.oneWayDelayMs, input.codec);
}

/** computeRFactor into `out` (a caller scoring every interval reuses one). */
export function rFactorInto(out: RFactorResult, lossPct: number, burstR: number, oneWayDelayMs: number, codec: CodecParams): RFactorResult {
  out.id = delayImpairment(oneWayDelayMs);
  out.ieEff = effectiveEquipmentImpairment(codec.ie, codec.bpl, lossPct, burstR);
  out.r = R_DEFAULT - out.id - out.ieEff;
  out.mos = mosFromR(out.r);
  return out;
}

/** Interval loss percentage from interval counts; duplicates (lost < 0) count as no loss. */
export function intervalLossPct(lost: number, expected: number): number {
  return expected > 0 && lost > 0 ? (100 * lost) / expected : 0;
}

/** RFC 3550 6.4.1 fraction lost: floor(256 * lost / expected) for an interval, 0 when lost <= 0. */
export function fractionLost(lostInterval: number, expectedInterval: number): number {
  if (expectedInterval <= 0 || lostInterval <= 0) return 0;
  const f = Math.floor((256 * lostInterval) / expectedInterval);
  return f > 255 ? 255 : f;
}
