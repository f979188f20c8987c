/**
 * HEP v3 to HOMER collectors (heplify-server, Kamailio sipcapture, HOMER 11): QoS reports and ALERTs as
 * reports.qos_hep_type and RTCP as type 5 JSON, each with its stream's Call-ID as correlation id, and SIP
 * as type 1 without one, as heplify and captagent send it: heplify-server sets a SIP row's correlation id
 * only when the chunk is empty (to the A-leg id of an X-CID header, with its AlegIDs, else the Call-ID),
 * and HOMER 7 links B2BUA legs on it (HOMER 11 alike, with ingest.sip.aleg_ids). The wire format and the
 * sockets are src/hep's; this module maps events onto HEP messages.
 *
 * A configuration reload keeps the alerts with the collectors: a collector kept goes on with the rules
 * firing (their CLEARED follow); a collector removed gets a CLEARED (CLEAR_REASON reconfigured) for each,
 * a collector added (HEP turned on included) an ALERT for each (see report/alert-handover.ts), so no
 * HOMER is left with an alert nobody clears nor gets a CLEARED without its ALERT.
 */
import { readFileSync } from 'node:fs';
import { HepProtoType, HepSender, tlsContext, type HepCollectorConfig, type HepCollectorEvent, type HepSendInput } from '../hep/index.js';
import type { ProbeConfig } from '../ops/config.js';
import { ExitCode } from '../ops/exit-codes.js';
import { buildHandoverReport } from '../report/index.js';
import { AddressFilter } from './address-filter.js';
import type { Envelope, EventKind, OutboundEvent } from './events.js';
import { FiringAlerts } from './firing-alerts.js';
import type { OutputContext } from './registry.js';
import { nodeNameOf } from './identity.js';
import type { DestinationStats, Output, OutputLog } from './output.js';
import { RateLimitedLog } from './rate-limited-log.js';

export interface HepOutputOptions {
  sender: HepSender;
  qosHepType: number;
  sendRtcp: boolean;
  sendSip: boolean;
  /** SIP methods (requests and their responses, by CSeq method) not sent. Upper case. */
  sipExcludeMethods?: readonly string[];
  /** SIP from or to these addresses / prefixes is not sent. */
  sipExcludeAddresses?: readonly string[];
  /**
   * The rules firing, followed by the sink (OutboundSink.firing), which a reload tells the collectors it
   * adds or removes. Absent: none known (an output used without a sink).
   */
  firing?: FiringAlerts;
}

export class HepOutput implements Output {
  readonly name = 'hep';
  readonly scope = 'collector' as const;
  /** SIP not sent, by reason (the rest goes through the sender and is counted there; mirror-port copies never come: the sink's). */
  readonly sipSkipped = { method: 0, address: 0 };
  private readonly excludeMethods: Set<string>;
  private readonly excludeAddresses: AddressFilter;
  /** One reused input object: its fields are overwritten per message (send() copies what it keeps). */
  private readonly msg: HepSendInput = {
    ipFamily: 4, ipProto: 17, srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, tsSec: 0, tsUsec: 0, protoType: 1,
    correlationId: '', mos: undefined, payload: '',
  };

  /** Rules firing per stream: what a reload that changes the collectors tells them. */
  private readonly firing: FiringAlerts;

  /**
   * `replaces`: the running instance a configuration reload replaces (none: HEP was off, or this is the
   * start). The collectors it alone has get their CLEARED (through its sender, behind their ALERT), those
   * this one alone has the ALERT of every rule firing.
   */
  constructor(
    private readonly o: HepOutputOptions,
    replaces?: HepOutput,
  ) {
    this.excludeMethods = new Set((o.sipExcludeMethods ?? []).map((m) => m.toUpperCase()));
    this.excludeAddresses = new AddressFilter(o.sipExcludeAddresses ?? []);
    this.firing = o.firing ?? new FiringAlerts();
    const before = replaces?.sender.collectorNames ?? [];
    const after = o.sender.collectorNames;
    replaces?.endFiring(new Set(before.filter((n) => !after.includes(n))));
    this.tellFiring('ALERT', new Set(after.filter((n) => !before.includes(n))));
  }

  get sender(): HepSender {
    return this.o.sender;
  }

  wants(kind: EventKind): boolean {
    if (kind === 'rtcp') return this.o.sendRtcp;
    if (kind === 'sip') return this.o.sendSip;
    return true;
  }

  write(e: OutboundEvent): void {
    const m = this.msg;
    if (e.kind === 'sip') {
      if (!this.sipPasses(e.env, e.method)) return;
      fill(m, e.env, HepProtoType.SIP, SIP_CORRELATION_ID, undefined, e.bytes);
    } else if (e.kind === 'rtcp') {
      fill(m, e.env, HepProtoType.RTCP_JSON, e.callId, undefined, e.json);
    } else {
      const mos = e.report.MOS;
      fill(m, e.env, this.o.qosHepType, String(e.report.CORRELATION_ID), typeof mos === 'number' && mos >= 1 ? mos : undefined, e.json);
    }
    this.o.sender.send(m);
    m.payload = '';
  }

  /**
   * A reload removed these collectors (all of them when it turned HEP off): every rule firing is cleared
   * there (delivered by close() within the reload's drain deadline), as the stream's end will not be told.
   */
  endFiring(collectors?: ReadonlySet<string>): void {
    this.tellFiring('CLEARED', collectors ?? new Set(this.o.sender.collectorNames));
  }

  /**
   * Sends `collectors` an ALERT (as of the rule's ALERT) or a CLEARED (as of now: the reload's; a live run's
   * capture clock is the wall clock) for every rule firing.
   */
  private tellFiring(kind: 'ALERT' | 'CLEARED', collectors: ReadonlySet<string>): void {
    if (collectors.size === 0) return;
    const m = this.msg;
    const nowMs = Date.now();
    for (const f of this.firing.values()) {
      for (const [rule, alert] of f.rules) {
        const tsMs = kind === 'ALERT' ? alert.tsMs : nowMs;
        const report = buildHandoverReport(kind, f.identity, rule, kind === 'ALERT' ? alert.reportTs : Math.floor(nowMs / 1000));
        fill(m, { ...f.env, tsMs }, this.o.qosHepType, String(report.CORRELATION_ID), undefined, JSON.stringify(report));
        this.o.sender.send(m, collectors);
      }
    }
    m.payload = '';
  }

  private sipPasses(env: Envelope, method: string): boolean {
    if (this.excludeMethods.size > 0 && this.excludeMethods.has(method)) {
      this.sipSkipped.method++;
      return false;
    }
    if (!this.excludeAddresses.empty && (this.excludeAddresses.matches(env.srcIp) || this.excludeAddresses.matches(env.dstIp))) {
      this.sipSkipped.address++;
      return false;
    }
    return true;
  }

  stats(): DestinationStats[] {
    const s = this.o.sender.stats();
    // A message the encoder refused reaches no collector: a drop for each of them.
    const refused = s.refused.emptyCorrelationId + s.refused.tooBig + s.refused.invalid;
    return s.collectors.map((c) => ({
      name: c.name,
      sent: c.sent,
      failed: c.failed,
      errors: c.connectFailures,
      dropped: c.dropped + refused,
      queued: c.queued + c.inFlight,
      notTaken: c.notTaken,
      // A collector that accepted the connection but does not read takes no reports either.
      up: c.connected && !c.stalled,
      lastError: c.lastError,
    }));
  }

  room(): Promise<void> | null {
    return this.o.sender.room();
  }

  settled(): Promise<void> | null {
    return this.o.sender.settled();
  }

  close(deadlineMs: number): Promise<void> {
    return this.o.sender.close(deadlineMs);
  }
}

/** No chunk 0x11 on SIP: the collector derives it from the message (see the module comment). */
const SIP_CORRELATION_ID = '';

/** Fills the reused message: the event's envelope (HOMER groups rows by it), type, Call-ID, MOS chunk, payload. */
function fill(m: HepSendInput, env: Envelope, protoType: number, correlationId: string, mos: number | undefined, payload: string | Uint8Array): void {
  const sec = Math.floor(env.tsMs / 1000);
  const v6 = env.ipVersion === 6;
  m.ipFamily = v6 ? 6 : 4;
  m.ipProto = env.ipProto ?? 17;
  m.srcIp = v6 ? asIpv6(env.srcIp) : env.srcIp;
  m.dstIp = v6 ? asIpv6(env.dstIp) : env.dstIp;
  m.srcPort = env.srcPort;
  m.dstPort = env.dstPort;
  m.tsSec = sec;
  // tsMs is truncated to the microsecond at capture (captureTimeMs): rounding only undoes the double's error.
  m.tsUsec = Math.max(0, Math.min(999_999, Math.round((env.tsMs - sec * 1000) * 1000)));
  m.protoType = protoType;
  m.correlationId = correlationId;
  m.mos = mos;
  m.payload = payload;
}

/**
 * HEP carries one family per message; a call-level report can pair an IPv4 SDP address with an IPv6 one
 * (a dual-stack answerer): the IPv4 side then goes as its IPv4-mapped IPv6 address.
 */
function asIpv6(ip: string): string {
  return ip.includes(':') ? ip : `::ffff:${ip}`;
}

/**
 * The HEP output of a configuration, or null when hep.enabled is false. `running`: at a reload, the HEP
 * output it replaces; `firing`: the rules firing (the sink's), told to the collectors a reload adds.
 */
export function openHepOutput(config: ProbeConfig, log: OutputLog, running?: Output, context: OutputContext = {}): HepOutput | null {
  const h = config.hep;
  const replaces = running instanceof HepOutput ? running : undefined;
  if (!h.enabled || h.collectors.length === 0) {
    replaces?.endFiring(); // a reload turned HEP off
    return null;
  }
  const collectors = hepCollectorConfigs(config);
  let sender: HepSender;
  try {
    sender = new HepSender({
      collectors,
      captureId: h.captureId,
      authKey: h.authKey || undefined,
      nodeName: nodeNameOf(config),
      onEvent: collectorEventLogger(log),
      onRefused: refusalLogger(log),
      replaces: replaces?.sender,
    });
  } catch (err) {
    throw usageError(err);
  }
  return new HepOutput(
    {
      sender,
      qosHepType: config.reports.qosHepType,
      sendRtcp: config.reports.sendRtcp,
      sendSip: h.sip.enabled,
      sipExcludeMethods: h.sip.excludeMethods,
      sipExcludeAddresses: h.sip.excludeAddresses,
      firing: context.firing,
    },
    replaces,
  );
}

/**
 * The collectors as the sender takes them, each TLS collector's files read: a file missing throws a usage
 * error (exit 2) naming the setting. The sender's TLS collectors make the files into their context.
 */
function hepCollectorConfigs(config: ProbeConfig): HepCollectorConfig[] {
  try {
    return config.hep.collectors.map((c, i) => collectorOptions(c, i, config.rtp.maxStreams));
  } catch (err) {
    throw usageError(err);
  }
}

/**
 * `check-config`: the TLS collectors' files read and made into their context as a start does (the checks
 * the schema cannot make), with the same usage error.
 */
export function checkHepCollectors(config: ProbeConfig): void {
  for (const c of hepCollectorConfigs(config)) {
    if (!c.tls) continue;
    try {
      tlsContext(c.name!, c.tls);
    } catch (err) {
      throw usageError(err);
    }
  }
}

/** A setting the schema cannot check (a TLS file): the operator's to fix, not a crash. */
function usageError(err: unknown): Error {
  const message = (err as Error).message;
  return Object.assign(new Error(message.startsWith('hep.') ? message : `hep.collectors: ${message}`), { exitCode: ExitCode.USAGE });
}

/** Collector problems as log lines: at most one per collector and kind every 10 s, recoveries always. */
export function collectorEventLogger(log: OutputLog): (e: HepCollectorEvent) => void {
  const limited = new RateLimitedLog(log);
  return (e) => {
    const obj = { collector: e.collector, reason: e.reason };
    if (e.kind === 'up') log.info(obj, 'HEP collector reachable again');
    else if (e.kind === 'down') limited.warn(`${e.collector} down`, obj, 'HEP collector unreachable: reports are queued and it is retried');
    else if (e.kind === 'stalled') limited.warn(`${e.collector} stalled`, obj, 'HEP collector stalled: it keeps the connection but takes nothing; reports are queued (the oldest dropped once the queue is full)');
    else if (e.kind === 'failed') limited.warn(`${e.collector} failed`, obj, 'HEP send failed');
    else if (e.kind === 'moved') log.warn(obj, 'HEP collector name resolves to another address: reports go there');
    else if (e.kind === 'unresolved') limited.warn(`${e.collector} unresolved`, obj, 'HEP collector name does not resolve: reports go to its last address');
    else if (e.kind === 'notice') log.warn(obj, 'HEP delivery over TCP/TLS is confirmed only by the kernel taking it');
    else limited.error(`${e.collector} dropped`, obj, 'HEP reports dropped: the collector queue is full');
  };
}

/** Messages HEP cannot carry (see HepEncodeStatus), as error lines: at most one per reason every 10 s. */
function refusalLogger(log: OutputLog): (reason: string, m: HepSendInput) => void {
  const limited = new RateLimitedLog(log);
  return (reason, m) => {
    const obj = { reason, hepType: m.protoType, correlationId: m.correlationId, src: `${m.srcIp}:${m.srcPort}`, dst: `${m.dstIp}:${m.dstPort}` };
    limited.error(`refused ${reason}`, obj, 'HEP message not sent: it cannot be encoded (counted as dropped for every collector)');
  };
}

type CollectorSetting = ProbeConfig['hep']['collectors'][number];

/**
 * Bytes a collector's queue holds per message of its size, on average: a QoS report takes about 2.3 KB, so
 * a queue of them fills by count; SIP messages (up to 64 KB) fill it by bytes first.
 */
export const QUEUE_BYTES_PER_MESSAGE = 4096;

/**
 * A collector's queue holds a burst of reports: every stream's FINAL at shutdown plus an interval's
 * PERIODICs, so by default twice max_streams (at least 10,000).
 */
export function defaultQueueSize(maxStreams: number): number {
  return Math.max(10_000, 2 * maxStreams);
}

function collectorOptions(c: CollectorSetting, index: number, maxStreams: number): HepCollectorConfig {
  const pem = (path: string, field: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`hep.collectors[${index}].tls.${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const queueSize = c.queueSize > 0 ? c.queueSize : defaultQueueSize(maxStreams);
  return {
    host: c.host,
    port: c.port,
    transport: c.transport,
    queueSize,
    queueBytes: queueSize * QUEUE_BYTES_PER_MESSAGE,
    stallTimeoutMs: c.stallTimeoutS * 1000,
    resolveIntervalMs: c.resolveIntervalS * 1000,
    name: `${c.transport}://${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`,
    tls:
      c.transport === 'tls'
        ? { ca: pem(c.tls.ca, 'ca'), cert: pem(c.tls.cert, 'cert'), key: pem(c.tls.key, 'key'), servername: c.tls.servername || undefined, rejectUnauthorized: c.tls.rejectUnauthorized }
        : undefined,
  };
}
