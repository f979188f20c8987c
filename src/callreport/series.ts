/**
 * A stream's interval series with a bound on its points, at one resolution over the whole stream: every
 * kept point stands for the same number of consecutive intervals (`stride`), the worst of them. At the
 * bound, neighbouring points merge in pairs and the stride doubles; the intervals that arrive meanwhile
 * gather in a pending point until they make a whole stride.
 */
import type { StreamSeries } from './model.js';

export class BoundedSeries {
  private kept: StreamSeries = emptySeries();
  /** Intervals per kept point. */
  private stride = 1;
  /** The next point, gathering its intervals' worst values: `n` of them so far. */
  private readonly pending = { n: 0, t: 0, delta: null as number | null, jitter: null as number | null, loss: null as number | null, mos: null as number | null };

  constructor(private readonly maxPoints: number) {}

  /** True once points stand for more than one interval. */
  get thinned(): boolean {
    return this.stride > 1;
  }

  /** End time of the latest interval, -Infinity before the first. */
  get lastT(): number {
    if (this.pending.n) return this.pending.t;
    return this.kept.t.length ? this.kept.t[this.kept.t.length - 1]! : -Infinity;
  }

  push(t: number, delta: number | null, jitter: number | null, loss: number | null, mos: number | null): void {
    const p = this.pending;
    p.t = t;
    p.delta = worseOf(p.delta, delta, Math.max);
    p.jitter = worseOf(p.jitter, jitter, Math.max);
    p.loss = worseOf(p.loss, loss, Math.max);
    p.mos = worseOf(p.mos, mos, Math.min);
    if (++p.n < this.stride) return;
    if (this.kept.t.length >= this.maxPoints) {
      this.kept = thinned(this.kept, this.maxPoints >> 1);
      this.stride *= 2;
      if (p.n < this.stride) return;
    }
    pushPoint(this.kept, p.t, p.delta, p.jitter, p.loss, p.mos);
    Object.assign(p, { n: 0, delta: null, jitter: null, loss: null, mos: null });
  }

  /** The series so far (a copy), the pending intervals as its last point. */
  snapshot(): StreamSeries {
    const k = this.kept;
    const out: StreamSeries = { t: k.t.slice(), delta: k.delta.slice(), jitter: k.jitter.slice(), loss: k.loss.slice(), mos: k.mos.slice() };
    const p = this.pending;
    if (p.n) pushPoint(out, p.t, p.delta, p.jitter, p.loss, p.mos);
    return out;
  }
}

function worseOf(a: number | null, b: number | null, pick: (a: number, b: number) => number): number | null {
  return a === null ? b : b === null ? a : pick(a, b);
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
  for (let i = from; i < to; i++) w = worseOf(w, v[i] ?? null, pick);
  return w;
}
