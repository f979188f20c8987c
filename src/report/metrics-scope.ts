import type { StreamSnapshot } from '../rtp/snapshot.js';
import { FIELD_FAMILIES, METRIC_VARIABLES, VARIABLE_READERS } from './fields.js';
import type { MetricSource, MetricVariable } from './fields.js';
import type { JbMetricVariable } from './jb-fields.js';
import type { StreamQosState } from './qos-state.js';
import type { StreamSilences } from './silences.js';

/**
 * Per-stream fault state the rule variables read (the reporter's): pauses/silences, one-way flags, and
 * the capture's drops while the interval being evaluated was captured.
 */
export interface FaultState {
  silences: StreamSilences;
  oneWay: Uint8Array;
  readonly intervalCaptureDrops?: number;
}

// The interface gives the class one typed number property per variable of the field table and of its
// families (FIELD_FAMILIES: the jitter-buffer one), which `fill` sets alike.
export interface IntervalMetrics extends Record<MetricVariable | JbMetricVariable, number> {}

/**
 * One reusable scope object for the alert rules: one numeric property per rule variable of the field
 * table (fields.ts: names, meanings and how each is read), created once with every property so its
 * shape never changes; fill it per stream, never allocate.
 */
export class IntervalMetrics {
  // A private field is no property: Object.keys() of the scope are exactly the variables.
  readonly #source = { snap: null, qos: null, silences: null, oneWay: null, captureDrops: 0 } as unknown as MetricSource;

  constructor() {
    for (const v of METRIC_VARIABLES) (this as unknown as Record<string, number>)[v] = v === 'burst_r' ? 1 : 0;
  }

  /** Reads the interval from the snapshot, the MOS history and the fault state (record the interval in `qos` first). */
  fill(snap: StreamSnapshot, qos: StreamQosState, faults: FaultState | null = null): this {
    const src = this.#source;
    src.snap = snap;
    src.qos = qos;
    src.silences = faults?.silences ?? null;
    src.oneWay = faults?.oneWay ?? null;
    src.captureDrops = faults?.intervalCaptureDrops ?? 0;
    const self = this as unknown as Record<string, number>;
    for (let i = 0; i < VARIABLE_READERS.length; i++) self[VARIABLE_READERS[i][0]] = VARIABLE_READERS[i][1](src);
    for (let i = 0; i < FIELD_FAMILIES.length; i++) FIELD_FAMILIES[i].fill(self, src);
    return this;
  }
}
