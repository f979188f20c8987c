/**
 * The probe's configuration: one schema (defaults, validation, docs), loaded from a YAML/JSON file,
 * then RTPPROBE_<SECTION>_<KEY> environment variables, then command-line overrides (later wins).
 * Every problem is reported at once, each naming the field, the value and what is allowed.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { isIP } from 'node:net';
import { DEFAULT_STALL_TIMEOUT_MS, DEFAULT_UDP_RESOLVE_INTERVAL_MS } from '../hep/collector.js';
import { parseCidr } from '../outbound/address-filter.js';
import { CALL_FAULT_NO_MEDIA, CALL_FAULT_ONE_WAY } from '../report/call-faults.js';
import { MAX_RULES } from '../report/scheduler.js';
import { SILENCE_RULE } from '../report/silences.js';
import { DEFAULT_JITTER_BUFFER } from '../rtp/jitter-buffer.js';
import { itemAddress, itemAddressOfEnv, itemLists, itemPath, parseItemText, setItem, type ItemAddress } from './config-items.js';
import {
  allSettings,
  array,
  bool,
  camelCase,
  closest,
  int,
  Issues,
  list,
  num,
  obj,
  oneOf,
  record,
  str,
  textSettings,
  type Infer,
  type ObjectNode,
  type Problem,
  type SchemaNode,
} from './schema.js';
import { yaml } from './yaml.js';

const port = (doc: string, def: number) => int({ doc, default: def, min: 1, max: 65535 });

function hostCheck(v: string): string | undefined {
  if (isIP(v)) return undefined;
  // Digits and dots only is meant as an IPv4 address (a resolver would try it as a name and fail late).
  if (/^[\d.]+$/.test(v)) return 'an IP address (four numbers 0-255) or a host name';
  return /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(v) ? undefined : 'an IP address or a host name';
}

const collectorSchema = obj(
  {
    host: str({ doc: 'HEP collector address (HOMER heplify-server or Kamailio sipcapture).', default: '', allowEmpty: false, check: hostCheck }),
    port: port('HEP collector port.', 9060),
    transport: oneOf({ doc: 'udp, tcp or tls.', values: ['udp', 'tcp', 'tls'] as const, default: 'udp' }),
    tls: obj(
      {
        ca: str({ doc: 'PEM file of the CA that signed the collector certificate; empty = system CAs.', default: '' }),
        cert: str({ doc: 'Client certificate PEM file (mutual TLS); empty = none.', default: '' }),
        key: str({ doc: 'Client private key PEM file; empty = none.', default: '' }),
        servername: str({ doc: 'SNI / name checked in the certificate; empty = host.', default: '' }),
        reject_unauthorized: bool({ doc: 'Refuse collectors whose certificate does not verify.', default: true }),
      },
      { doc: 'TLS options, used when transport is tls.' },
    ),
    queue_size: int({ doc: 'HEP messages buffered while the collector is slow or reconnecting, in at most 4 KiB per message on average (a report takes about 2.3 KB; SIP messages fill it by bytes first); oldest dropped beyond. 0 = 2 x rtp.max_streams (at least 10,000): every stream\'s final report fits.', default: 0, min: 0, max: 10_000_000 }),
    stall_timeout_s: int({ doc: 'TCP/TLS: a connection on which the collector acknowledges nothing for this many seconds while messages wait is closed and made anew, what it had not acknowledged sent again first (a peer gone without a word would hold it for about 15 minutes of kernel retries). 0 = keep it until the kernel gives up.', default: DEFAULT_STALL_TIMEOUT_MS / 1000, min: 0, max: 3600 }),
    resolve_interval_s: int({ doc: 'UDP to a host name: the name is resolved again this often, so a collector that moves (a container restarted, a failover) is followed; a change is logged, a failure logged (at most once per 10 s), counted in rtpprobe_output_errors_total, and the last address kept. TCP/TLS resolve at each connect. 0 = only at start and after a refusal (ICMP unreachable).', default: DEFAULT_UDP_RESOLVE_INTERVAL_MS / 1000, min: 0, max: 86400 }),
  },
  {
    doc: 'One HEP destination.',
    check(v, path, issues) {
      if (v.transport !== 'tls' && (v.tls.cert !== '' || v.tls.key !== '' || v.tls.ca !== ''))
        issues.add(`${path}.tls`, `TLS files are set but transport is ${JSON.stringify(v.transport)}: set transport: tls or remove them`);
      if ((v.tls.cert === '') !== (v.tls.key === ''))
        issues.add(`${path}.tls`, 'cert and key must be given together');
    },
  },
);

const codecSchema = obj(
  {
    ie: num({ doc: 'Equipment impairment factor Ie (G.113).', default: 0, min: 0, max: 100 }),
    bpl: num({ doc: 'Packet-loss robustness factor Bpl (G.113).', default: 4.3, min: 1, max: 100 }),
  },
  { doc: 'E-model parameters of one codec.' },
);

const ruleSchema = obj(
  {
    name: str({ doc: 'Rule name, shown in logs and metrics.', default: '', allowEmpty: false }),
    when: str({ doc: 'Expression over the report variables (compiled by the report module).', default: '', allowEmpty: false }),
    interval_s: num({ doc: 'Report interval while the expression is true.', default: 5, min: 1, max: 86400 }),
  },
  { doc: 'Adaptive reporting rule.' },
);

/**
 * Capacity arithmetic for the defaults (10,000 concurrent calls): a call has two RTP directions and,
 * with RTCP, up to four tracked flows; re-INVITEs and forks briefly add more, so max_streams 40,000 =
 * 2 x (10,000 calls x 2 RTP directions). Stream state is ~100 typed-array fields (<= 1 KB per slot with
 * the hash) -> ~40 MB. A call record (Call-ID, tags, SDP bindings, strings) is a few KB -> max_calls
 * 20,000 x ~4 KB = ~80 MB. Fragment chains 1,024 x 64 KB worst case = 64 MB. HEP queues 10,000 x ~1.5 KB
 * = 15 MB per collector. Total well under 1 GB.
 */
/**
 * PACKET_FANOUT ids the probe picks itself (capture.fanout_group 0 with several workers); explicit ids
 * must stay below, so no probe configured by hand joins an automatic group.
 */
export const AUTO_FANOUT_GROUPS = { min: 61440, max: 65535 } as const;

/** Alerts the probe raises without a rule (reports.faults): a rule may not take their names. */
const FAULT_ALERTS: readonly string[] = [CALL_FAULT_NO_MEDIA, CALL_FAULT_ONE_WAY, SILENCE_RULE];

/** The metrics endpoint's port unless configured (Dockerfile, systemd unit and docs follow it). */
export const DEFAULT_METRICS_PORT = 9470;

export const probeSchema = obj(
  {
    capture: obj(
      {
        backend: oneOf({ doc: 'auto: native TPACKET_V3 addon, else cap; pcap: native addon only; cap: the portable cap binding (host timestamps).', values: ['auto', 'pcap', 'cap'] as const, default: 'auto' }),
        interface: str({ doc: 'Interface to sniff (the SPAN/mirror port). Required for `run` (or -i).', default: '' }),
        snap_length: int({ doc: 'Bytes kept per packet. 9216 covers jumbo frames and tunnel headers.', default: 9216, min: 64, max: 262144 }),
        buffer_size_mb: int({ doc: 'Kernel ring size in MiB; the burst the probe can absorb.', default: 64, min: 1, max: 2047 }),
        buffer_timeout_ms: int({ doc: 'Longest wait before a partly filled block is delivered, and the least time between two reads of the ring while it fills slowly (batching latency).', default: 100, min: 1, max: 1000 }),
        filter: str({ doc: 'BPF filter applied in the kernel; empty = everything.', default: '' }),
        promiscuous: bool({ doc: 'Promiscuous mode (needed on a mirror port: frames are not addressed to us).', default: true }),
        fanout_group: int({ doc: `PACKET_FANOUT group id shared by the workers (1..${AUTO_FANOUT_GROUPS.min - 1}); 0 = no fanout with one worker, an automatic id (${AUTO_FANOUT_GROUPS.min}..${AUTO_FANOUT_GROUPS.max}, one not in use on the host nor taken by another rtpprobe starting at the same time) with several.`, default: 0, min: 0, max: 65535 }),
        workers: int({ doc: 'Media worker threads sharing the interface by PACKET_FANOUT (flow hash); SIP state stays on the main thread. >1 needs the native addon (backend pcap or auto).', default: 1, min: 1, max: 64 }),
      },
      {
        doc: 'Packet capture.',
        check(v, path, issues) {
          if (v.workers > 1 && v.backend === 'cap')
            issues.add(`${path}.workers`, `${v.workers} is not allowed with backend "cap": cap cannot run in worker threads; use workers 1, or backend pcap (the native addon; auto uses it too)`);
          if (v.fanoutGroup >= AUTO_FANOUT_GROUPS.min)
            issues.add(`${path}.fanout_group`, `${v.fanoutGroup} is not allowed: ${AUTO_FANOUT_GROUPS.min}..${AUTO_FANOUT_GROUPS.max} are reserved for the automatic ids the probe picks (fanout_group 0); use 1..${AUTO_FANOUT_GROUPS.min - 1}`);
        },
      },
    ),
    decode: obj(
      {
        vxlan_port: port('UDP port decoded as VXLAN.', 4789),
        tzsp_port: port('UDP port decoded as TZSP.', 37008),
        max_fragment_chains: int({ doc: 'IPv4/IPv6 fragment chains reassembled at once (SIP); oldest evicted.', default: 1024, min: 1, max: 1_000_000 }),
        fragment_timeout_ms: int({ doc: 'An incomplete chain is dropped after this long.', default: 10000, min: 100, max: 120000 }),
      },
      { doc: 'Decoding.' },
    ),
    rtp: obj(
      {
        max_streams: int({ doc: 'Stream slots; when full, a new stream with two packets takes the slot of a silent one (ended with a final report).', default: 40000, min: 16, max: 2_000_000 }),
        silence_timeout_s: num({ doc: 'A stream with no packet for this long ends (final report).', default: 30, min: 1, max: 86400 }),
        default_clock_rate: int({ doc: 'Clock rate for a dynamic payload type with no SDP rtpmap; 0 = inferred from the stream (8/16/32/44.1/48/90 kHz), no jitter until then.', default: 0, min: 0, max: 1_000_000 }),
        wireshark_compatible_clock: bool({ doc: 'Integer clock/1000 like Wireshark 4.0 (matches tshark; wrong for 11.025/22.05/44.1 kHz). Default: exact clock.', default: false }),
        heuristic: obj(
          {
            enabled: bool({ doc: 'Track RTP seen without SIP/SDP.', default: true }),
            min_consecutive: int({ doc: 'Consecutive in-sequence packets with one SSRC before a flow is taken as RTP.', default: 4, min: 2, max: 1000 }),
            require_even_port: bool({ doc: 'Heuristic RTP only on even UDP ports (RFC 3550 convention; SCCP, WebRTC and ephemeral senders use odd ones).', default: false }),
            payload_types: list({ doc: 'Payload types accepted by the heuristic; "a-b" ranges allowed.', item: int({ doc: '', default: 0, min: 0, max: 127 }), default: [0, '3-12', '14-18', '25-26', 28, '31-34', '96-127'] as unknown as number[], ranges: true, minItems: 1 }),
          },
          { doc: 'RTP detection without signalling.' },
        ),
      },
      { doc: 'RTP stream tracking.' },
    ),
    sip: obj(
      {
        ports: list({ doc: 'Ports always parsed as SIP (SIP is also recognised by content).', item: port('', 5060), default: [5060], minItems: 0 }),
        max_calls: int({ doc: 'Calls tracked at once; when full the idlest call ends.', default: 20000, min: 16, max: 10_000_000 }),
        call_max_age_s: num({ doc: 'A call older than this is ended whatever happens (lost BYE).', default: 14400, min: 60, max: 604800 }),
        call_idle_timeout_s: num({ doc: 'A call with no SIP message and no active stream for this long ends.', default: 600, min: 5, max: 86400 }),
        nat_bind_source: bool({ doc: 'Bind a call to the observed RTP source when it differs from the SDP address (NAT).', default: true }),
        media_linger_s: num({ doc: 'An ended call (and media a re-INVITE moved) keeps its media this long, so trailing RTP/RTCP joins its stream before the final report.', default: 3, min: 0, max: 60 }),
        correlation_headers: list({ doc: 'Headers that link B2BUA legs (value = other leg Call-ID).', item: str({ doc: '', default: '', allowEmpty: false, check: (v) => (/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v) ? undefined : 'a header name') }), default: ['X-CID'] }),
      },
      { doc: 'SIP correlation.' },
    ),
    qos: obj(
      {
        nominal_one_way_delay_ms: num({ doc: 'Assumed network one-way delay when RTCP gives no round trip on any path of the call.', default: 0, min: 0, max: 10000 }),
        jitter_buffer_ms: num({ doc: 'Receiver jitter-buffer delay added to the network one-way delay (assumed; reported as BUFFER_DELAY).', default: 0, min: 0, max: 10000 }),
        jitter_buffers: obj(
          {
            emulate: bool({ doc: 'Play every stream through emulated jitter buffers (two fixed, one adaptive) and score MOS on what they play; false: MOS from network loss only.', default: true }),
            reference: oneOf({ doc: "Buffer whose MOS is the report's MOS (and feeds the rules' mos and the RFC 3611 metrics): adaptive, fixed1, fixed2, or none (network loss only).", values: ['adaptive', 'fixed1', 'fixed2', 'none'] as const, default: 'adaptive' }),
            delay_in_mos: bool({ doc: "Each buffer's MOS also pays for that buffer's playout delay (E-model delay = network + buffer; BUFFER_DELAY is then the reference buffer's, emulated); false: MOS counts the buffers' discards only and BUFFER_DELAY is qos.jitter_buffer_ms.", default: false }),
            fixed1_ms: num({ doc: 'Playout delay of the first fixed buffer (MOS_F1).', default: DEFAULT_JITTER_BUFFER.fixed1Ms, min: 1, max: 5000 }),
            fixed2_ms: num({ doc: 'Playout delay of the second fixed buffer (MOS_F2).', default: DEFAULT_JITTER_BUFFER.fixed2Ms, min: 1, max: 5000 }),
            adaptive_min_ms: num({ doc: 'Smallest delay of the adaptive buffer (MOS_ADAPT).', default: DEFAULT_JITTER_BUFFER.adaptiveMinMs, min: 0, max: 5000 }),
            adaptive_max_ms: num({ doc: 'Largest delay of the adaptive buffer.', default: DEFAULT_JITTER_BUFFER.adaptiveMaxMs, min: 1, max: 5000 }),
            adaptive_margin_ms: num({ doc: 'Added to the spread (95th minus 5th percentile) of the recent network delays to give the adaptive delay.', default: DEFAULT_JITTER_BUFFER.adaptiveMarginMs, min: 0, max: 1000 }),
            adaptive_start_ms: num({ doc: "The adaptive buffer's delay at stream start, until it has 8 packets of delay history to adapt from (held within adaptive_min_ms..adaptive_max_ms).", default: DEFAULT_JITTER_BUFFER.adaptiveStartMs, min: 0, max: 5000 }),
            adaptive_history: int({ doc: 'Packets of delay history per stream the adaptive buffer takes its percentiles from (4 bytes each per stream slot).', default: DEFAULT_JITTER_BUFFER.adaptiveHistory, min: 8, max: 1023 }),
          },
          {
            doc: 'Jitter-buffer emulation (MOS that hears jitter).',
            check(v, path, issues) {
              if (v.adaptiveMinMs > v.adaptiveMaxMs) issues.add(`${path}.adaptive_min_ms`, `${v.adaptiveMinMs} is not allowed: above adaptive_max_ms (${v.adaptiveMaxMs})`);
            },
          },
        ),
        codecs: record({
          doc: 'E-model codec table by encoding name (lower case), merged over the built-in one field by field; "default" applies to unknown codecs.',
          item: codecSchema,
          default: {
            default: { ie: 0, bpl: 4.3 },
            pcmu: { ie: 0, bpl: 25.1 },
            pcma: { ie: 0, bpl: 25.1 },
            g729: { ie: 11, bpl: 19 },
            g723: { ie: 15, bpl: 16.1 },
            gsm: { ie: 20, bpl: 10 },
            g722: { ie: 0, bpl: 25.1 },
            opus: { ie: 0, bpl: 25.1 },
          },
        }),
      },
      { doc: 'E-model.' },
    ),
    reports: obj(
      {
        interval_s: num({ doc: "Periodic report interval per stream, s: whole seconds (a fraction rounds up); a stream's first interval is up to 1 s longer (README, Reports).", default: 10, min: 1, max: 86400 }),
        rules: array({ doc: `Adaptive intervals: the first rule whose expression is true sets the interval; at most ${MAX_RULES} rules.`, item: ruleSchema, default: [], maxItems: MAX_RULES }),
        unknown_call_id: oneOf({ doc: 'Streams with no SIP call: synthetic id, log only, or drop.', values: ['synthetic', 'log', 'drop'] as const, default: 'synthetic' }),
        qos_hep_type: oneOf({ doc: 'HEP protocol type of QoS reports: 35 (heplify-server with HOMER 7 or 5, HOMER 11), 34 (heplify-server Prometheus metrics) or 99 (Kamailio sipcapture). See the receiver table in the README.', values: [35, 34, 99] as const, default: 35 }),
        send_rtcp: bool({ doc: 'Forward captured RTCP as HEP type 5 JSON.', default: true }),
        faults: obj(
          {
            no_media_s: num({ doc: 'An answered call with no RTP in either direction for this long sends an ALERT report (rule "no-media"); 0 = off.', default: 5, min: 0, max: 3600 }),
            one_way_s: num({ doc: 'An answered call whose audio flows in one direction only for this long sends an ALERT report on the flowing stream (rule "one-way-rtp", ONE_WAY_RTP 1); calls the SDP puts on hold or sendonly are exempt; 0 = off.', default: 5, min: 0, max: 3600 }),
            silence_s: num({ doc: 'A stream of an answered call with no packet for this long sends an ALERT report (rule "silence"; a stream no SIP describes is not alerted: its stop looks the same as its end; nor early media, nor one of a call on hold, nor one whose last packet was comfort noise); when it resumes without a sequence gap covering the pause, the pause counts as a silence (DTX, hold), otherwise as loss; 0 = off. No effect at or above rtp.silence_timeout_s, which ends the stream.', default: 5, min: 0, max: 86400 }),
          },
          { doc: 'Media faults that are not loss, detected once per second of capture time.' },
        ),
        jsonl: obj(
          {
            enabled: bool({ doc: 'Also write every report as one JSON line.', default: false }),
            path: str({ doc: 'File to append to; "-" = standard output.', default: '-', allowEmpty: false }),
          },
          { doc: 'JSON-lines output.' },
        ),
        html: obj(
          {
            path: str({ doc: 'Write an HTML call report (calls, SIP ladder, per-interval charts of every stream) to this file when the run ends; empty = none.', default: '' }),
          },
          { doc: 'HTML call report.' },
        ),
      },
      {
        doc: 'QoS reports.',
        check(v, path, issues) {
          const seen = new Set<string>();
          v.rules.forEach((r, i) => {
            if (r.name !== '' && seen.has(r.name)) issues.add(`${path}.rules[${i}].name`, `${JSON.stringify(r.name)} is used by an earlier rule: names must be unique`);
            // Reports, logs, metrics and the webhook name an alert by its rule only.
            if (FAULT_ALERTS.includes(r.name)) issues.add(`${path}.rules[${i}].name`, `${JSON.stringify(r.name)} is not allowed: it is the name of a media fault alert (reports.faults); give the rule another name`);
            seen.add(r.name);
          });
        },
      },
    ),
    hep: obj(
      {
        enabled: bool({ doc: 'Send reports over HEP v3.', default: true }),
        collectors: array({ doc: 'Destinations; every report goes to each.', item: collectorSchema, default: [{ host: '127.0.0.1', port: 9060, transport: 'udp' }] }),
        capture_id: int({ doc: 'HEP capture agent id (chunk 0x000c).', default: 2001, min: 0, max: 4294967295 }),
        auth_key: str({ doc: 'HEP auth key / capture password (chunk 0x000e); empty = none.', default: '' }),
        node_name: str({ doc: 'HEP node name (chunk 0x0013) and NODE of reports; empty = this host\'s name.', default: '' }),
        sip: obj(
          {
            enabled: bool({ doc: 'Send every captured SIP message as HEP type 1 (off when another agent, e.g. heplify, already sends the SIP).', default: true }),
            exclude_methods: list({ doc: 'SIP methods not sent (requests and their responses), e.g. [OPTIONS, REGISTER, NOTIFY].', item: str({ doc: '', default: '', allowEmpty: false, check: (v) => (/^[A-Za-z]+$/.test(v) ? undefined : 'a SIP method name') }), default: [] }),
            exclude_addresses: list({ doc: 'SIP from or to these addresses or CIDR prefixes is not sent.', item: str({ doc: '', default: '', allowEmpty: false, check: (v) => { const p = parseCidr(v); return typeof p === 'string' ? 'an IP address or CIDR prefix' : undefined; } }), default: [] }),
            duplicate_window_ms: int({ doc: 'The same SIP bytes (or RTCP compound) on the same addresses seen again within this many ms are a mirror-port duplicate and sent once; 0 = send every copy.', default: 100, min: 0, max: 10000 }),
          },
          { doc: 'SIP to HOMER (HEP type 1).' },
        ),
      },
      {
        doc: 'HEP output.',
        check(v, path, issues) {
          // A collectors value refused already (no list) is named once, not again as an empty list.
          const refused = issues.list.some((p) => p.path === `${path}.collectors`);
          if (v.enabled && v.collectors.length === 0 && !refused)
            issues.add(`${path}.collectors`, 'an empty list is not allowed while hep.enabled is true: give at least one collector or set hep.enabled: false');
        },
      },
    ),
    webhook: obj(
      {
        url: str({
          doc: 'HTTP(S) URL that receives each alert (ALERT) and its end (CLEARED) as a JSON POST; empty = off.',
          default: '',
          check: (v) => (v === '' || /^https?:\/\/[^\s/]+/.test(v) ? undefined : 'an http:// or https:// URL, or empty'),
        }),
        timeout_ms: int({ doc: 'Time one POST may take before it counts as failed.', default: 5000, min: 100, max: 60000 }),
        retries: int({ doc: 'Attempts after a failed one (network error, timeout, HTTP 5xx or 429), with backoff 1 s, 2 s, 4 s ... 30 s, or the answer\'s Retry-After (at most 60 s) when longer.', default: 3, min: 0, max: 20 }),
        queue_size: int({ doc: 'Events waiting for delivery; when full the oldest is dropped (counted and logged).', default: 1000, min: 1, max: 1_000_000 }),
      },
      { doc: 'Alert webhook.' },
    ),
    metrics: obj(
      {
        enabled: bool({ doc: 'Serve Prometheus /metrics and /healthz.', default: true }),
        listen: str({ doc: 'Address to bind (0.0.0.0 to expose).', default: '127.0.0.1', allowEmpty: false, check: hostCheck }),
        port: int({ doc: `HTTP port; 0 = any free port. The default stays clear of Prometheus (9090), Alertmanager (9093), node_exporter (9100), heplify-server (9060, 9096) and HOMER (9080).`, default: DEFAULT_METRICS_PORT, min: 0, max: 65535 }),
        max_connections: int({ doc: 'Open connections at most; a new one beyond closes the longest-idle connection older than 250 ms (younger ones may exceed the cap by up to 1,024 until then), so scrapes and health checks always get through.', default: 64, min: 2, max: 10000 }),
        idle_timeout_ms: int({ doc: 'A connection without traffic (or with an unfinished request) for this long is closed.', default: 10000, min: 100, max: 600000 }),
        live_page: bool({ doc: 'Serve the live call page (GET /calls: call list, SIP ladder, per-interval charts, refreshed) and its data (GET /api/callreport) on the metrics address.', default: false }),
      },
      { doc: 'Metrics endpoint.' },
    ),
    log: obj(
      {
        level: oneOf({ doc: 'Minimum level.', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, default: 'info' }),
        format: oneOf({ doc: 'json, pretty, or auto (pretty on a terminal, JSON otherwise).', values: ['json', 'pretty', 'auto'] as const, default: 'auto' }),
        status_interval_s: int({ doc: 'Live capture: one status line (calls, streams, worst MOS, alerts, drops) this often; 0 = never.', default: 60, min: 0, max: 86400 }),
        calls: bool({ doc: 'Live capture: log each call start and end (at most 20 lines per 10 s; the rest are counted).', default: true }),
      },
      { doc: 'Logging (to standard error).' },
    ),
    process: obj(
      {
        user: str({ doc: 'User to switch to once capture is open; empty = stay.', default: '', check: (v) => (v === '' || /^([a-z_][a-z0-9_.-]*\$?|\d+)$/i.test(v) ? undefined : 'a user name or numeric uid') }),
        shutdown_deadline_ms: int({ doc: 'Time allowed to flush final reports and drain HEP queues on stop.', default: 5000, min: 100, max: 600000 }),
      },
      { doc: 'Process.' },
    ),
  },
  { doc: 'rtpprobe configuration' },
);

export type ProbeConfig = Infer<typeof probeSchema>;
export type CaptureConfig = ProbeConfig['capture'];
export type DecodeConfig = ProbeConfig['decode'];
export type RtpConfig = ProbeConfig['rtp'];
export type SipConfig = ProbeConfig['sip'];
export type QosConfig = ProbeConfig['qos'];
export type ReportsConfig = ProbeConfig['reports'];
export type HepConfig = ProbeConfig['hep'];
export type HepCollectorConfig = HepConfig['collectors'][number];
export type MetricsConfig = ProbeConfig['metrics'];
export type LogConfig = ProbeConfig['log'];
export type ProcessConfig = ProbeConfig['process'];

export class ConfigError extends Error {
  constructor(
    readonly problems: Problem[],
    readonly source?: string,
  ) {
    // One problem is one line; several are listed one per line so they can all be fixed in one pass. The
    // file, named once at the start, is not named again in each problem about it.
    const where = source ? ` in ${source}` : '';
    const named = source ? `(file): ${source}: ` : undefined;
    const shown = (m: string) => (named && m.startsWith(named) ? `(file): ${m.slice(named.length)}` : m);
    super(
      problems.length === 1
        ? `invalid configuration${where}: ${shown(problems[0].message).replace(/^\(file\): /, '')}`
        : `invalid configuration${where} (${problems.length} problems):\n${problems.map((p) => `  - ${shown(p.message)}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** The configuration with every default. */
export function defaultConfig(): ProbeConfig {
  const issues = new Issues();
  const cfg = probeSchema.validate(undefined, '', issues);
  if (issues.list.length) throw new ConfigError(issues.list, 'built-in defaults');
  return cfg;
}

const ENV_PREFIX = 'RTPPROBE_';
/** Environment variables that are not settings. */
const ENV_RESERVED = new Set(['RTPPROBE_CONFIG']);
const textLeaves = textSettings(probeSchema);
const envNames = new Map(textLeaves.map((l) => [`${ENV_PREFIX}${l.path.join('_').toUpperCase()}`, l]));
const leafByPath = new Map(textLeaves.map((l) => [l.path.join('.'), l]));
const sections = Object.keys(probeSchema.fields);
const COLLECTORS_PATH = 'hep.collectors';
const COLLECTORS_ENV = 'RTPPROBE_HEP_COLLECTORS';
/** Lists of mappings whose items can be set by index (config-items.ts). */
const itemListsByPath = itemLists(probeSchema);

/** Mappings of free names (qos.codecs): one field of one entry is set as `qos.codecs.g729.ie`. */
const records = allSettings(probeSchema).filter((l) => l.node.kind === 'record');

/** The field of a record entry that `key` names, in YAML path segments; undefined when it names none. */
function recordField(key: string, sep: '.' | '_', upper: boolean): { path: string[]; node: SchemaNode<unknown> } | undefined {
  for (const rec of records) {
    const prefix = `${rec.path.join(sep)}${sep}`;
    if (!key.startsWith(upper ? prefix.toUpperCase() : prefix)) continue;
    const rest = key.slice(prefix.length);
    const fields = (rec.node as unknown as { item: ObjectNode<Record<string, SchemaNode<unknown>>> }).item.fields;
    for (const [field, node] of Object.entries(fields)) {
      const suffix = `${sep}${upper ? field.toUpperCase() : field}`;
      const name = rest.slice(0, -suffix.length).toLowerCase();
      if (rest.endsWith(suffix) && name !== '' && (sep === '_' || !name.includes('.'))) return { path: [...rec.path, name, field], node };
    }
  }
  return undefined;
}

/** Every environment variable name the probe reads (for docs and --help). */
export function environmentVariables(): string[] {
  const items = [...itemListsByPath.values()].map((l) => `${ENV_PREFIX}${l.path.join('_').toUpperCase()}_<N>[_<FIELD>]`);
  const entries = records.map((r) => `${ENV_PREFIX}${r.path.join('_').toUpperCase()}_<NAME>_<FIELD>`);
  return [...envNames.keys(), COLLECTORS_ENV, ...items, ...entries, 'RTPPROBE_CONFIG'];
}

/** Every setting accepted by `--set path=value` and the `overrides` argument. */
export function overridablePaths(): string[] {
  const entries = records.map((r) => `${r.path.join('.')}.<name>.<field>`);
  return [...leafByPath.keys(), COLLECTORS_PATH, ...[...itemListsByPath.keys()].map((p) => `${p}.<N>[.<field>]`), ...entries];
}

/**
 * "udp://host:9060", "tls://[2001:db8::1]:9061", "host:9060", "host" -> a collector mapping.
 * Used by RTPPROBE_HEP_COLLECTORS and --hep; the YAML file uses the mapping form.
 */
export function parseCollectorUri(text: string): Record<string, unknown> | string {
  const m = /^(?:(udp|tcp|tls):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d+))?\/?$/.exec(text.trim());
  if (!m) return `${JSON.stringify(text)} is not allowed: must be [udp|tcp|tls://]host[:port]`;
  const out: Record<string, unknown> = { host: m[2]!.replace(/^\[|\]$/g, '') };
  if (m[1]) out.transport = m[1];
  if (m[3]) out.port = Number(m[3]);
  return out;
}

export interface LoadConfigOptions {
  /** YAML or JSON file; absent = defaults only. */
  file?: string;
  /** Usually process.env; RTPPROBE_* entries are applied. */
  env?: Record<string, string | undefined>;
  /**
   * Dotted YAML paths -> value (e.g. {'capture.interface': 'eth1', 'reports.interval_s': '5'}). Strings are
   * read like environment values; 'hep.collectors' takes a list of URIs or mappings. Applied last.
   * `origins` names where each came from (e.g. '--interface') for messages.
   */
  overrides?: Record<string, unknown>;
  origins?: Record<string, string>;
  /**
   * Checks other modules own (alert rules compiled), run on what the schema made of the settings, told
   * the schema's problems: their problems are listed with those, so every mistake is named at once.
   */
  check?: (config: ProbeConfig, problems: readonly Problem[]) => string[];
}

function setPath(root: Record<string, unknown>, segments: string[], value: unknown): void {
  let cur = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const next = cur[segments[i]!];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[segments[i]!] = {};
    cur = cur[segments[i]!] as Record<string, unknown>;
  }
  cur[segments[segments.length - 1]!] = value;
}

/** A configuration file larger than this is refused: the shipped, fully commented file is ~12 KB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** YAML aliases (*name) a file may use: enough for shared blocks, far too few for an expansion bomb. */
export const MAX_YAML_ALIASES = 100;

/** Why the configuration file could not be read, in words naming the fix. */
function readProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory: give the path of a YAML or JSON file';
    case 'ELOOP':
      return 'its symbolic links lead in a loop: fix the link or give the file itself';
    default:
      return (err as Error).message;
  }
}

/**
 * Reads the file as text: a regular file only (a FIFO would block the probe at start and at SIGHUP,
 * /dev/zero would grow it without end), at most MAX_CONFIG_BYTES. Problems go to `issues`.
 */
function readConfigText(file: string, issues: Issues): string | undefined {
  const problem = (text: string) => void issues.add('(file)', `${file}: ${text}`);
  let fd: number | undefined;
  try {
    const st = statSync(file);
    if (!st.isFile()) return problem(`not a regular file (${fileKind(st)}): give the path of a YAML or JSON file`);
    if (st.size > MAX_CONFIG_BYTES) return problem(`${st.size} bytes is more than the ${MAX_CONFIG_BYTES} a configuration file may have: is this the right file?`);
    // Opened without blocking and checked again: the path may have been swapped for a FIFO meanwhile.
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return problem('not a regular file: give the path of a YAML or JSON file');
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_CONFIG_BYTES) return problem(`more than the ${MAX_CONFIG_BYTES} bytes a configuration file may have: is this the right file?`);
    return buf.toString('utf8', 0, n);
  } catch (err) {
    issues.add('(file)', `cannot read ${file}: ${readProblem(err)}`);
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * A YAML syntax error in one line: the yaml package's message ends its first line with a colon before a
 * code frame on the lines after, which a one-line problem would cut to a dangling "column N:"; the line
 * of the file it points at is quoted instead (at most 80 characters).
 */
function yamlErrorLine(e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }, text: string): string {
  const first = e.message.split('\n')[0]!.replace(/:$/, '');
  const line = e.linePos ? text.split(/\r?\n/)[e.linePos[0].line - 1]?.trim() : undefined;
  return line ? `${first} (${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}...` : line)})` : first;
}

function readFileRaw(file: string, issues: Issues): unknown {
  const text = readConfigText(file, issues);
  if (text === undefined) return undefined;
  const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    for (const e of doc.errors) issues.add('(file)', `${file}: ${yamlErrorLine(e, text)}`);
    return undefined;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // The yaml package refuses an alias expansion bomb with a ReferenceError; anything else is a bad file too.
    const bomb = /alias/i.test((err as Error).message);
    issues.add('(file)', bomb ? `${file}: YAML aliases expand too far (more than ${MAX_YAML_ALIASES} uses): write the values out` : `${file}: ${(err as Error).message}`);
    return undefined;
  }
  return value === null ? {} : value;
}

function collectorsFrom(value: unknown, path: string, issues: Issues): unknown {
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : value;
  if (!Array.isArray(items)) return value;
  return items.map((it: unknown) => {
    if (typeof it !== 'string') return it;
    const parsed = parseCollectorUri(it);
    if (typeof parsed === 'string') {
      issues.add(path, parsed);
      return { host: it };
    }
    return parsed;
  });
}

/**
 * Load, merge and validate. Throws ConfigError listing every problem.
 * Order: defaults < file < environment < overrides.
 */
export function loadConfig(opts: LoadConfigOptions = {}): ProbeConfig {
  const origins = new Map<string, string>();
  const originOf = (path: string): string | undefined => {
    for (let p = path; ; ) {
      const o = origins.get(p);
      if (o) return o;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return undefined;
      p = p.slice(0, cut);
    }
  };
  const issues = new Issues(originOf);
  const fileIssues = new Issues();
  let raw: Record<string, unknown> = {};
  if (opts.file !== undefined) {
    const fromFile = readFileRaw(opts.file, fileIssues);
    if (fileIssues.list.length) throw new ConfigError(fileIssues.list, opts.file);
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError([{ path: '(top level)', message: `(top level): ${opts.file} must hold a mapping of sections (${sections.join(', ')})` }], opts.file);
    }
    raw = fromFile as Record<string, unknown>;
  }

  // List items by index (RTPPROBE_REPORTS_RULES_0...), applied after the other variables, by index.
  const envItems: Array<{ name: string; addr: ItemAddress; value: string }> = [];
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || ENV_RESERVED.has(name)) continue;
    const item = name === COLLECTORS_ENV ? undefined : itemAddressOfEnv(name, ENV_PREFIX, itemListsByPath);
    if (item) {
      envItems.push({ name, addr: item, value });
      continue;
    }
    if (name === COLLECTORS_ENV) {
      origins.set(COLLECTORS_PATH, name);
      setPath(raw, ['hep', 'collectors'], collectorsFrom(value, COLLECTORS_PATH, issues));
      continue;
    }
    const leaf = envNames.get(name) ?? recordField(name.slice(ENV_PREFIX.length), '_', true);
    if (!leaf) {
      // Only names that start like a section are taken as settings; other RTPPROBE_* variables belong to
      // tests or wrappers and are left alone.
      const rest = name.slice(ENV_PREFIX.length).toLowerCase();
      if (sections.some((s) => rest.startsWith(`${s}_`))) {
        const near = closest(name, [...envNames.keys(), COLLECTORS_ENV]);
        issues.add(name, `unknown environment setting${near ? `; did you mean ${near}?` : ''}`);
      }
      continue;
    }
    const key = leaf.path.join('.');
    origins.set(key, name);
    setPath(raw, leaf.path, leaf.node.fromText!(value));
  }

  envItems.sort((a, b) => a.addr.index - b.addr.index || Number(a.addr.field !== undefined) - Number(b.addr.field !== undefined));
  for (const { name, addr, value } of envItems) applyItem(raw, addr, value, name, origins, issues);

  // Items by index after the rest, as for the environment: --set hep.collectors.0.tls.ca=... amends the
  // collector --hep gives, whatever the order of the flags.
  const overrides = Object.entries(opts.overrides ?? {});
  const isItem = ([key]: [string, unknown]): boolean => itemAddress(key, itemListsByPath) !== undefined;
  for (const [key, value] of [...overrides.filter((o) => !isItem(o)), ...overrides.filter(isItem)]) {
    if (value === undefined) continue;
    const from = opts.origins?.[key] ?? `override ${key}`;
    const list = itemListsByPath.get(key);
    if (list && key !== COLLECTORS_PATH && (Array.isArray(value) || typeof value === 'string')) {
      // A whole list from item texts (--rule ...); --set PATH=TEXT is a list of that one item, empty: none.
      origins.set(key, from);
      const texts = Array.isArray(value) ? value : value.trim() === '' ? [] : [value];
      const items = texts.map((text, i) => {
        const item = typeof text === 'string' ? parseItemText(list, text) : { value: text as Record<string, unknown> };
        if ('error' in item) issues.add(`${key}[${i}]`, item.error);
        return 'error' in item ? {} : item.value;
      });
      setPath(raw, list.path, items);
      continue;
    }
    const item = itemAddress(key, itemListsByPath);
    if (item) {
      applyItem(raw, item, String(value), from, origins, issues);
      continue;
    }
    if (key === COLLECTORS_PATH) {
      origins.set(key, from);
      setPath(raw, ['hep', 'collectors'], collectorsFrom(value, key, issues));
      continue;
    }
    const leaf = leafByPath.get(key) ?? recordField(key, '.', false);
    if (!leaf) {
      const near = closest(key, overridablePaths());
      issues.add(key, `unknown setting${near ? `; did you mean ${near}?` : ''} (set by ${from})`);
      continue;
    }
    origins.set(leaf.path.join('.'), from);
    setPath(raw, leaf.path, typeof value === 'string' ? leaf.node.fromText!(value) : value);
  }

  const cfg = probeSchema.validate(raw, '', issues);
  const problems = [...issues.list, ...(opts.check?.(cfg, issues.list) ?? []).map((message) => ({ path: '', message }))];
  if (problems.length) throw new ConfigError(problems, opts.file);
  return cfg;
}

/** One list item (or one field of it) set from text; problems name the item and where the text came from. */
function applyItem(raw: Record<string, unknown>, addr: ItemAddress, text: string, from: string, origins: Map<string, string>, issues: Issues): void {
  const path = itemPath(addr);
  origins.set(path, from);
  const error = setItem(raw, addr, text);
  if (error) issues.add(path, error);
}

/**
 * What a reload (SIGHUP) changes in a running probe: the report schedule and fault thresholds, the outputs
 * (reopened from the new settings) and the log level. Every other setting is read once at start, among
 * them hep.node_name: the reports carry it as NODE, set at start, as well as the HEP chunk.
 */
export const RELOADED_SETTINGS: readonly string[] = [
  'reports.interval_s', 'reports.rules', 'reports.faults', 'reports.qos_hep_type', 'reports.send_rtcp', 'reports.jsonl', 'reports.html',
  'hep.enabled', 'hep.collectors', 'hep.capture_id', 'hep.auth_key', 'hep.sip',
  'webhook', 'log.level',
];

/**
 * The configuration a reload applies: `next` with every setting outside RELOADED_SETTINGS at its
 * running value, and the paths of those whose new value is therefore not applied (a restart applies them).
 */
export function reloadedConfig(running: ProbeConfig, next: ProbeConfig): { config: ProbeConfig; notApplied: string[] } {
  const config = structuredClone(next);
  const notApplied: string[] = [];
  for (const { path } of allSettings(probeSchema)) {
    const dotted = path.join('.');
    if (RELOADED_SETTINGS.some((r) => dotted === r || dotted.startsWith(`${r}.`))) continue;
    const keys = path.map(camelCase);
    const last = keys.pop()!;
    const was = keys.reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, running as unknown as Record<string, unknown>);
    const into = keys.reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, config as unknown as Record<string, unknown>);
    if (JSON.stringify(was[last]) === JSON.stringify(into[last])) continue;
    notApplied.push(dotted);
    into[last] = structuredClone(was[last]);
  }
  return { config, notApplied };
}

/** Validate an already parsed raw object (YAML form), e.g. for tests or a config API. */
export function validateRawConfig(raw: unknown): { config: ProbeConfig; problems: Problem[] } {
  const issues = new Issues();
  const config = probeSchema.validate(raw, '', issues);
  return { config, problems: issues.list };
}

export type { SchemaNode };
