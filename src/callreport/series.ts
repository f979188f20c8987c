/**
 * A stream's interval series with a bound on its points, at one resolution over the whole stream: every
 * kept point stands for the same number of consecutive intervals (`stride`), the worst of them. At the
 * bound, neighbouring points merge in pairs and the stride doubles; the intervals that arrive meanwhile
 * gather in a pending point until they make a whole stride.
 */
import type { StreamSeries } from './model.js';

export class BoundedSeries {
  private kept: StreamSeries = emptySeries();
  private pending: StreamSeries = emptySeries();
  /** Intervals per kept point. */
  private stride = 1;

  constructor(private readonly maxPoints: number) {}

  /** True once points stand for more than one interval. */
  get thinned(): boolean {
    return this.stride > 1;
  }

  /** End time of the latest interval, -Infinity before the first. */
  get lastT(): number {
    const s = this.pending.t.length ? this.pending : this.kept;
    return s.t.length ? s.t[s.t.length - 1]! : -Infinity;
  }

  push(t: number, delta: number | null, jitter: number | null, loss: number | null, mos: number | null): void {
    pushPoint(this.pending, t, delta, jitter, loss, mos);
    if (this.pending.t.length < this.stride) return;
    if (this.kept.t.length >= this.maxPoints) {
      this.kept = thinned(this.kept, this.maxPoints >> 1);
      this.stride *= 2;
      if (this.pending.t.length < this.stride) return;
    }
    appendSeries(this.kept, thinned(this.pending, 1));
    this.pending = emptySeries();
  }

  /** The series so far (a copy), the pending intervals as its last point. */
  snapshot(): StreamSeries {
    const out = emptySeries();
    appendSeries(out, this.kept);
    if (this.pending.t.length) appendSeries(out, thinned(this.pending, 1));
    return out;
  }
}

function emptySeries(): StreamSeries {
  return { t: [], delta: [], jitter: [], loss: [], mos: [] };
}

function pushPoint(s: StreamSeries, t: number, delta: number | null, jitter: number | null, loss: number | null, mos: number | null): void {
  s.t.push(t);
  s.delta.push(delta);
  s.jitter.push(jitter);
  s.loss.push(loss);
  s.mos.push(mos);
}

function appendSeries(to: StreamSeries, from: StreamSeries): void {
  for (let i = 0; i < from.t.length; i++) pushPoint(to, from.t[i]!, from.delta[i]!, from.jitter[i]!, from.loss[i]!, from.mos[i]!);
}

/** `n` points: each stands for a run of consecutive ones, at the run's end, with their worst values. */
export function thinned(src: StreamSeries, n: number): StreamSeries {
  const out = emptySeries();
  const len = src.t.length;
  for (let k = 0; k < n; k++) {
    const from = Math.floor((k * len) / n);
    const to = Math.floor(((k + 1) * len) / n);
    if (to <= from) continue;
    pushPoint(
      out,
      src.t[to - 1]!,
      worst(src.delta, from, to, Math.max),
      worst(src.jitter, from, to, Math.max),
      worst(src.loss, from, to, Math.max),
      worst(src.mos, from, to, Math.min),
    );
  }
  return out;
}

function worst(v: Array<number | null>, from: number, to: number, pick: (a: number, b: number) => number): number | null {
  let w: number | null = null;
  for (let i = from; i < to; i++) {
    const x = v[i];
    if (x !== null && x !== undefined) w = w === null ? x : pick(w, x);
  }
  return w;
}
