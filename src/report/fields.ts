import type { StreamSnapshot } from '../rtp/snapshot.js';
import { FRAGMENT_MS, type StreamQosState } from './qos-state.js';
import type { StreamSilences } from './silences.js';
import { JB_FIELD_FAMILY } from './jb-fields.js';

/**
 * Every key a QoS report can carry, in one table: what it means (the README's field list is generated
 * from it, see renderFieldList), and, for the numbers an alert rule may test, the rule variable's name
 * and how it is read when the interval is evaluated (before the report is built; the value equals the
 * PERIODIC report's key, test/report/fields.test.ts checks both).
 */
export interface ReportField {
  key: string;
  /** One line for users: what the value is (units in the text). */
  doc: string;
  /** rtpagent: keys HOMER's RTPAgent reports have; probe: this probe's own; call: call-level fault reports. */
  group: 'rtpagent' | 'probe' | 'call';
  /** Present only in some reports (text says which); absent = in every stream report. */
  only?: string;
  /** Also in call-level fault reports (call-fault-report.ts), which carry these keys and the 'call' group's. */
  inCallReport?: boolean;
  /** Rule variable name, when rules may use the value. */
  variable?: string;
  /** Rule variable value for the interval just ended. */
  read?: (m: MetricSource) => number;
}

/** What a rule variable is read from: the stream's snapshot (interval counters), its MOS history, faults. */
export interface MetricSource {
  snap: StreamSnapshot;
  qos: StreamQosState;
  silences: StreamSilences | null;
  oneWay: Uint8Array | null;
  /** The capture's drops while the interval was captured (PERIOD_CAPTURE_DROPS of its PERIODIC). */
  captureDrops: number;
}

const scored = (m: MetricSource): boolean => m.qos.count[m.snap.slot] > 0;
const lostOf = (m: MetricSource): number => (m.snap.interval.lost > 0 ? m.snap.interval.lost : 0);

export const REPORT_FIELDS = [
  // ------------------------------------------------------------------ RTPAgent's keys
  { key: 'CORRELATION_ID', inCallReport: true, group: 'rtpagent', doc: 'SIP Call-ID of the leg (a synthetic id for streams without SIP, see SYNTHETIC_ID)' },
  { key: 'RTP_SIP_CALL_ID', inCallReport: true, group: 'rtpagent', doc: 'same as CORRELATION_ID' },
  { key: 'REPORT_TS', inCallReport: true, group: 'rtpagent', doc: 'end of the reported period, integer seconds since the epoch' },
  { key: 'TYPE', inCallReport: true, group: 'rtpagent', doc: 'PERIODIC, ALERT, CLEARED, HANGUP or FINAL (table above)' },
  { key: 'SSRC', inCallReport: true, group: 'rtpagent', doc: 'RTP SSRC (0 in call-level reports)' },
  { key: 'SRC_IP', inCallReport: true, group: 'rtpagent', doc: 'RTP source address' },
  { key: 'SRC_PORT', inCallReport: true, group: 'rtpagent', doc: 'RTP source port' },
  { key: 'DST_IP', inCallReport: true, group: 'rtpagent', doc: 'RTP destination address' },
  { key: 'DST_PORT', inCallReport: true, group: 'rtpagent', doc: 'RTP destination port' },
  { key: 'SRC_MAC', group: 'rtpagent', doc: 'source MAC as 00-04-13-29-64-22, empty without a link layer' },
  { key: 'DST_MAC', group: 'rtpagent', doc: 'destination MAC, same form; empty in Linux cooked captures (tcpdump -i any), which carry only the source' },
  { key: 'CODEC_PT', group: 'rtpagent', doc: "RTP payload type of the stream's latest packet" },
  { key: 'CODEC_NAME', group: 'rtpagent', doc: "codec from the SDP rtpmap or the static payload type, lower case; telephone events and comfort noise the SDP maps leave it (and the E-model's codec) the stream's audio codec" },
  { key: 'CLOCK', group: 'rtpagent', doc: 'RTP clock rate, Hz (0 when unknown: no jitter or skew then)' },
  { key: 'DIR', group: 'rtpagent', doc: '0: the stream flows towards the SDP address it matched, 1: from it' },
  { key: 'PARTY', group: 'rtpagent', doc: "0: the caller's SDP named that address, 1: the callee's" },
  { key: 'REPORT_NAME', inCallReport: true, group: 'rtpagent', doc: 'source address:port' },
  { key: 'TOTAL_PK', group: 'rtpagent', doc: 'packets received', variable: 'packets', read: (m) => m.snap.interval.packets },
  { key: 'EXPECTED_PK', group: 'rtpagent', doc: 'packets expected from the sequence numbers (RFC 3550 A.3)', variable: 'expected', read: (m) => m.snap.interval.expected },
  { key: 'PACKET_LOSS', group: 'rtpagent', doc: 'packets lost: expected less the distinct packets received (a duplicate does not cancel a loss; never negative)', variable: 'lost', read: lostOf },
  { key: 'SEQ', group: 'rtpagent', doc: "sequence errors as Wireshark counts them (+1 per gap, late or duplicate packet)", variable: 'seq_errors', read: (m) => m.snap.interval.seqErrors },
  { key: 'OUT_ORDER', group: 'rtpagent', doc: 'packets that arrived late (out of order)', variable: 'out_of_order', read: (m) => m.snap.interval.outOfOrder },
  { key: 'SSRC_CHG', group: 'rtpagent', doc: "SSRC changes on the stream's 5-tuple up to it: a new SSRC that took it over (an SSRC that runs beside another, BUNDLE, RTX or FEC, is none)", variable: 'ssrc_changes', read: (m) => m.snap.ssrcChanges },
  { key: 'TL_BYTE', group: 'rtpagent', doc: 'RTP bytes received' },
  { key: 'DELTA', group: 'rtpagent', doc: 'mean inter-arrival time, ms', variable: 'delta_ms', read: (m) => m.snap.interval.meanDeltaMs },
  { key: 'MAX_DELTA', group: 'rtpagent', doc: 'largest inter-arrival time, ms', variable: 'max_delta_ms', read: (m) => m.snap.interval.maxDeltaMs },
  { key: 'JITTER', group: 'rtpagent', doc: 'current RFC 3550 interarrival jitter, ms', variable: 'jitter_ms', read: (m) => m.snap.jitterMs },
  { key: 'MAX_JITTER', group: 'rtpagent', doc: 'largest jitter of the period, ms', variable: 'max_jitter_ms', read: (m) => m.snap.interval.maxJitterMs },
  { key: 'MEAN_JITTER', group: 'rtpagent', doc: 'mean jitter of the period, ms', variable: 'mean_jitter_ms', read: (m) => m.snap.interval.meanJitterMs },
  { key: 'SKEW', group: 'rtpagent', doc: 'current skew (arrival against RTP timestamps), ms', variable: 'skew_ms', read: (m) => m.snap.skewMs },
  { key: 'MAX_SKEW', group: 'rtpagent', doc: 'skew of the largest magnitude in the period, sign kept, ms', variable: 'max_skew_ms', read: (m) => m.snap.interval.maxSkewMs },
  { key: 'MOS', group: 'rtpagent', doc: "the interval's MOS (E-model); in HANGUP/FINAL the mean over the intervals (MEAN_MOS)", variable: 'mos', read: (m) => (scored(m) ? m.qos.lastMos[m.snap.slot] : 0) },
  { key: 'MIN_MOS', group: 'rtpagent', doc: `lowest interval MOS of the stream so far; a period whose packets span under ${FRAGMENT_MS / 1000} s (a stream that ended or paused in it) is scored together with the interval before it (after it, when it is the stream's first), weighted as MEAN_MOS`, variable: 'min_mos', read: (m) => (scored(m) ? m.qos.minMos[m.snap.slot] : 0) },
  { key: 'MEAN_MOS', group: 'rtpagent', doc: "mean interval MOS of the stream so far, each interval weighted by the audio it held (its EXPECTED_PK)", variable: 'mean_mos', read: (m) => m.qos.meanMos(m.snap.slot) },
  { key: 'RFACTOR', group: 'rtpagent', doc: "the interval's R-factor; in HANGUP/FINAL the mean", variable: 'rfactor', read: (m) => (scored(m) ? m.qos.lastR[m.snap.slot] : 0) },
  { key: 'MIN_RFACTOR', group: 'rtpagent', doc: 'lowest interval R-factor so far, intervals as MIN_MOS' },
  { key: 'MEAN_RFACTOR', group: 'rtpagent', doc: 'mean interval R-factor so far, weighted as MEAN_MOS' },
  { key: 'REPORT_START', inCallReport: true, group: 'rtpagent', doc: "start of the reported period, seconds (ms precision, truncated); in an ALERT or CLEARED whose period has no packet (a pause), the stream's latest packet" },
  { key: 'REPORT_END', inCallReport: true, group: 'rtpagent', doc: 'end of the reported period, seconds; in such a report, when the fault was found' },
  { key: 'RTP_START', group: 'rtpagent', doc: "the stream's first packet, seconds" },
  { key: 'RTP_STOP', group: 'rtpagent', doc: "the stream's latest packet, seconds" },
  {
    key: 'ONE_WAY_RTP', group: 'rtpagent', doc: "1 while the answered call's audio flows in this stream's direction only (reports.faults.one_way_s); HANGUP/FINAL keep the last state",
    variable: 'one_way_rtp', read: (m) => (m.oneWay !== null ? m.oneWay[m.snap.slot] : 0),
  },
  // ------------------------------------------------------------------ the probe's own
  { key: 'CLOCK_SOURCE', group: 'probe', doc: 'where CLOCK came from: sdp, static, inferred, config or unknown' },
  { key: 'PACKET_LOSS_PCT', group: 'probe', doc: 'PACKET_LOSS in percent of EXPECTED_PK', variable: 'loss_pct', read: (m) => (m.snap.interval.expected > 0 ? (100 * lostOf(m)) / m.snap.interval.expected : 0) },
  { key: 'DUPLICATES', group: 'probe', doc: 'duplicate packets', variable: 'duplicates', read: (m) => m.snap.interval.duplicates },
  { key: 'MIN_DELTA', group: 'probe', doc: 'smallest inter-arrival time, ms' },
  { key: 'MIN_JITTER', group: 'probe', doc: 'smallest jitter of the period, ms' },
  { key: 'BURST_R', group: 'probe', doc: 'Gilbert-model burst ratio of the loss (1 = random)', variable: 'burst_r', read: (m) => (m.snap.interval.burstR > 0 ? m.snap.interval.burstR : 1) },
  { key: 'BURST_DENSITY', group: 'probe', doc: 'RFC 3611 burst density (fraction 0..1)' },
  { key: 'GAP_DENSITY', group: 'probe', doc: 'RFC 3611 gap density (fraction 0..1)' },
  { key: 'CLOCK_DRIFT_PPM', group: 'probe', doc: "sender clock drift against capture time, ppm", variable: 'drift_ppm', read: (m) => m.snap.clockDriftPpm },
  { key: 'PT_CHG', group: 'probe', doc: 'payload type changes so far' },
  { key: 'IE_EFF', group: 'probe', doc: 'E-model effective equipment impairment Ie,eff of the interval' },
  { key: 'ID', group: 'probe', doc: 'E-model delay impairment Id of the interval' },
  { key: 'ONE_WAY_DELAY', group: 'probe', doc: 'mouth-to-ear delay the E-model used: NETWORK_DELAY + BUFFER_DELAY, ms', variable: 'one_way_delay_ms', read: (m) => m.qos.lastDelayMs[m.snap.slot] },
  { key: 'DELAY_SOURCE', group: 'probe', doc: 'rtcp: NETWORK_DELAY rests on measured round trips (all of them when DELAY_PATHS_MEASURED = DELAY_PATHS); nominal: none measured, qos.nominal_one_way_delay_ms assumed' },
  { key: 'NETWORK_DELAY', group: 'probe', doc: "network one-way delay over every leg of the call the probe sees: half of each leg's round trip (probe to caller side plus probe to callee side), ms", variable: 'network_delay_ms', read: (m) => m.qos.lastNetworkDelayMs[m.snap.slot] },
  { key: 'DELAY_LEGS', group: 'probe', doc: 'call legs NETWORK_DELAY sums (B2BUA legs linked by X-CID or correlation)' },
  { key: 'DELAY_PATHS', group: 'probe', doc: 'their paths: probe to caller side and probe to callee side, 2 per leg' },
  { key: 'DELAY_PATHS_MEASURED', group: 'probe', doc: 'paths with a measured RTCP round trip; an unmeasured one counts 0 ms (NETWORK_DELAY is then a lower bound)' },
  { key: 'BUFFER_DELAY', group: 'probe', doc: "receiver jitter-buffer delay in ONE_WAY_DELAY, ms" },
  { key: 'BUFFER_DELAY_SOURCE', group: 'probe', doc: 'assumed (qos.jitter_buffer_ms) or emulated (the stream\'s emulated buffer)' },
  { key: 'LAST_MOS', group: 'probe', doc: 'MOS of the latest scored interval' },
  { key: 'LAST_RFACTOR', group: 'probe', doc: 'R-factor of the latest scored interval' },
  { key: 'MOS_INTERVALS', group: 'probe', doc: 'intervals scored so far (0: nothing measured, MOS fields 0)' },
  { key: 'HOST_TIMESTAMPS', group: 'probe', doc: '1 when capture times came from the host clock (cap backend), not the kernel' },
  { key: 'CAPTURE_DROPS', group: 'probe', doc: 'packets the capture dropped since start (kernel and interface), not network loss' },
  { key: 'PERIOD_CAPTURE_DROPS', group: 'probe', doc: "packets the capture dropped (kernel and interface, of every flow) that the stream's packets of the period came after (read between the previous period's last packet of the stream and this period's last: the period whose loss they would explain): the interval, or the stream's life in FINAL and HANGUP; above 0, PACKET_LOSS may hold packets the probe missed, not the network", variable: 'capture_drops', read: (m) => m.captureDrops },
  { key: 'SILENCES', group: 'probe', doc: 'pauses of the stream that were silences, not loss (reports.faults.silence_s)', variable: 'silences', read: (m) => (m.silences !== null ? m.silences.count[m.snap.slot] : 0) },
  { key: 'SILENCE_MS', group: 'probe', doc: 'their total length, ms', variable: 'silence_ms', read: (m) => (m.silences !== null ? m.silences.totalMs[m.snap.slot] : 0) },
  { key: 'MAX_SILENCE_MS', group: 'probe', doc: 'the longest, ms', variable: 'max_silence_ms', read: (m) => (m.silences !== null ? m.silences.maxMs[m.snap.slot] : 0) },
  { key: 'CURRENT_SILENCE_MS', group: 'probe', doc: "rule silence: the pause so far (ALERT) or the pause that ended (CLEARED), ms; 0 otherwise" },
  { key: 'PAUSE_WAS_LOSS', group: 'probe', only: 'CLEARED of rule silence whose stream resumed', doc: '1 when the sequence jumped across the pause (loss, counted in PACKET_LOSS), 0 for a silence' },
  { key: 'VLAN', group: 'probe', doc: 'outer VLAN id, -1 when none' },
  { key: 'NODE', inCallReport: true, group: 'probe', doc: 'hep.node_name' },
  { key: 'SYNTHETIC_ID', inCallReport: true, group: 'probe', doc: '1 when CORRELATION_ID is synthetic (no SIP call)' },
  { key: 'X_CID', inCallReport: true, group: 'probe', only: 'B2BUA B legs', doc: 'A-leg Call-ID (X-CID header or correlation)' },
  { key: 'INTERVAL_S', group: 'probe', only: 'PERIODIC, ALERT, CLEARED', doc: "the stream's report interval from now on, s (rule variable: the time the packets of the interval just ended span, first to last: 9.98 for 10 s of 20 ms packets, 0 for a single packet)", variable: 'interval_s', read: (m) => (m.snap.interval.endMs - m.snap.interval.startMs) / 1000 },
  { key: 'ALERT_RULE', inCallReport: true, group: 'probe', only: 'ALERT, CLEARED', doc: 'the rule that started or stopped firing: a reports.rules name, or silence, one-way-rtp, no-media' },
  { key: 'CLEAR_REASON', group: 'probe', only: 'CLEARED', doc: 'rule: the condition ended; stream-ended: the stream ended while the rule fired (this CLEARED comes just before its FINAL or HANGUP, on the period since the last report), or the call ended while no-media held; reconfigured: a reload removed this collector from hep.collectors (or turned HEP off) while the rule fired (sent to it alone, REPORT_TS the reload\'s, only the ALERT\'s call, stream and node fields: no interval was measured)' },
  // ------------------------------------------------------------------ call-level fault reports (no stream)
  { key: 'NO_MEDIA', group: 'call', only: 'rule no-media', doc: '1 in the ALERT (answered, no RTP either way for reports.faults.no_media_s), 0 in its CLEARED' },
  { key: 'NO_MEDIA_MS', group: 'call', only: 'rule no-media', doc: 'time since the answer, ms' },
] as const satisfies readonly ReportField[];

type Row = (typeof REPORT_FIELDS)[number];
export type ReportKey = Row['key'];
/** The rule variables of the table above (families add theirs: METRIC_VARIABLES has all). */
export type MetricVariable = Extract<Row, { variable: string }>['variable'];

/**
 * A family of fields declared in a module of its own, added whole: its report keys with their meaning,
 * its rule variables and how it fills them. The builder that writes its keys is the family's; the tests
 * hold every emitted key to REPORT_KEYS and the README to renderFieldList, families included.
 */
export interface FieldFamily {
  /** Heading of its part of the README's list. */
  title: string;
  rows: ReadonlyArray<readonly [key: string, doc: string]>;
  variables: readonly string[];
  fill(scope: Record<string, number>, src: MetricSource): void;
}

/** The families, in README order. */
export const FIELD_FAMILIES: readonly FieldFamily[] = [JB_FIELD_FAMILY];

/** Every report key: the table's and the families'. */
export const REPORT_KEYS: ReadonlySet<string> = new Set([...REPORT_FIELDS.map((f) => f.key), ...FIELD_FAMILIES.flatMap((fam) => fam.rows.map(([key]) => key))]);

/** Every rule variable: the table's, in table order, then the families'. */
export const METRIC_VARIABLES: readonly string[] = [
  ...REPORT_FIELDS.flatMap((f) => ('variable' in f ? [f.variable] : [])),
  ...FIELD_FAMILIES.flatMap((fam) => fam.variables),
];

/** Variable name -> the report key it mirrors. */
export const VARIABLE_KEYS: ReadonlyMap<MetricVariable, ReportKey> = new Map(REPORT_FIELDS.flatMap((f) => ('variable' in f ? [[f.variable, f.key] as const] : [])));

/** [variable, reader] pairs, for filling a rule scope without looking anything up. */
export const VARIABLE_READERS: ReadonlyArray<readonly [MetricVariable, (m: MetricSource) => number]> = REPORT_FIELDS.flatMap((f) =>
  'variable' in f ? [[f.variable, f.read] as const] : [],
);

const GROUP_TITLES: Record<ReportField['group'], string> = {
  rtpagent: "HOMER RTPAgent's keys",
  probe: "The probe's own",
  call: 'Call-level reports (rule no-media, no stream to report on) carry the fields marked "call" above (SSRC 0, SRC the callee\'s SDP address, DST the caller\'s, 0.0.0.0 or :: and port 0 for a side whose SDP was not seen, REPORT_START the answer) and',
};

/** The README's field list (between its report-fields markers), generated from the table. */
export function renderFieldList(families: readonly FieldFamily[] = FIELD_FAMILIES): string {
  const out: string[] = [];
  for (const group of ['rtpagent', 'probe', 'call'] as const) {
    out.push(`${GROUP_TITLES[group]}:`, '', '| field | rule variable | meaning |', '|---|---|---|');
    for (const f of REPORT_FIELDS as readonly ReportField[]) {
      if (f.group !== group) continue;
      const only = f.only ? ` (only in: ${f.only})` : '';
      const call = f.inCallReport ? ' (call)' : '';
      out.push(`| \`${f.key}\`${call} | ${f.variable ? `\`${f.variable}\`` : ''} | ${f.doc}${only} |`);
    }
    out.push('');
  }
  for (const fam of families) {
    out.push(`${fam.title}:`, '', '| field | meaning |', '|---|---|');
    for (const [key, doc] of fam.rows) out.push(`| \`${key}\` | ${doc} |`);
    out.push('', `Rule variables: ${fam.variables.map((v) => `\`${v}\``).join(', ')}.`, '');
  }
  return out.join('\n');
}
