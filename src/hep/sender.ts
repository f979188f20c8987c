import { describeHepEncodeStatus, encodeHep3, HepEncodeStatus } from './encode.js';
import { HEP_MAX_PACKET, type HepMessage } from './types.js';
import {
  HepStreamCollector,
  HepUdpCollector,
  sameCollectorConfig,
  type HepCollector,
  type HepCollectorConfig,
  type HepCollectorStats,
  type HepTransportTuning,
} from './collector.js';

const EMPTY = Buffer.alloc(0);

export interface HepSenderOptions extends HepTransportTuning {
  collectors: HepCollectorConfig[];
  /** HEP capture agent id (chunk 0x0c) used when a message does not carry its own. */
  captureId: number;
  authKey?: string;
  nodeName?: string;
  /** A message refused before queueing (it reaches no collector): why, and the message (valid during the call). */
  onRefused?: (reason: string, msg: HepSendInput) => void;
  /**
   * At a configuration reload, the sender this one replaces: each of its collectors configured alike is
   * taken over with its connection and queue, so what it still holds goes before what follows, on the same
   * connection, and is not lost to the replaced sender's drain deadline.
   */
  replaces?: HepSender;
}

/** A message as the report layer hands it over: captureId/authKey/nodeName default to the sender's. */
export type HepSendInput = Omit<HepMessage, 'captureId'> & { captureId?: number };

export interface HepSenderStats {
  /** Messages encoded and queued to every collector. */
  accepted: number;
  /** Messages refused before queueing, by reason. */
  refused: { emptyCorrelationId: number; tooBig: number; invalid: number };
  collectors: HepCollectorStats[];
}

/**
 * Sends HEP v3 to several collectors at once. send() encodes once into a reused buffer, copies the
 * packet once and puts the same immutable Buffer on each collector's bounded queue: synchronous, never
 * awaits, never throws, so the capture path is never blocked by a slow or dead collector.
 */
export class HepSender {
  private collectors: HepCollector[];
  /** The configured collectors' names (those taken over by a reload's sender included). */
  private readonly names: string[];
  private readonly scratch = Buffer.allocUnsafe(HEP_MAX_PACKET);
  /** One reused message object with a fixed shape, filled from the input and the sender's defaults. */
  private readonly m: HepMessage = {
    ipFamily: 4, ipProto: 17, srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, tsSec: 0, tsUsec: 0, protoType: 1,
    captureId: 0, authKey: undefined, correlationId: '', nodeName: undefined, vlan: undefined, mos: undefined,
    rfactor: undefined, jitter: undefined, payload: '',
  };
  private accepted = 0;
  private refusedCid = 0;
  private refusedBig = 0;
  private refusedInvalid = 0;
  private closed = false;

  constructor(private readonly opts: HepSenderOptions) {
    if (opts.collectors.length === 0) throw new RangeError('HepSender needs at least one collector');
    const kept = new Set<HepCollector>();
    // The new collectors are made before any is taken over: one that throws (a TLS file) leaves the replaced sender whole.
    this.collectors = opts.collectors.map((c) => {
      const same = opts.replaces?.collectors.find((k) => !kept.has(k) && sameCollectorConfig(k.config, c));
      if (same !== undefined) {
        kept.add(same);
        return same;
      }
      if (c.transport === 'udp') return new HepUdpCollector(c, opts);
      if (c.transport === 'tcp' || c.transport === 'tls') return new HepStreamCollector(c, opts);
      throw new RangeError(`unknown HEP transport ${String((c as { transport: unknown }).transport)}`);
    });
    this.names = this.collectors.map((c) => c.name);
    if (opts.replaces !== undefined) opts.replaces.collectors = opts.replaces.collectors.filter((k) => !kept.has(k));
    for (const c of this.collectors) if (!kept.has(c)) c.start();
  }

  /**
   * Encodes and enqueues. Returns false when the message was refused (counted in stats().refused):
   * a non-SIP type without correlation id, a packet over 65535 bytes, or a field out of range; and
   * after close() began (then counted as dropped on each collector). `only`: the names of the collectors
   * it goes to (what a reload tells the collectors it adds or removes); absent: every collector.
   */
  send(msg: HepSendInput, only?: ReadonlySet<string>): boolean {
    if (this.closed) {
      // Shutting down: counted as dropped on every collector, never queued behind the final drain.
      for (let i = 0; i < this.collectors.length; i++) if (only === undefined || only.has(this.collectors[i]!.name)) this.collectors[i]!.enqueue(EMPTY);
      return false;
    }
    const m = this.m;
    m.ipFamily = msg.ipFamily;
    m.ipProto = msg.ipProto;
    m.srcIp = msg.srcIp;
    m.dstIp = msg.dstIp;
    m.srcPort = msg.srcPort;
    m.dstPort = msg.dstPort;
    m.tsSec = msg.tsSec;
    m.tsUsec = msg.tsUsec;
    m.protoType = msg.protoType;
    m.captureId = msg.captureId ?? this.opts.captureId;
    m.authKey = msg.authKey ?? this.opts.authKey;
    m.correlationId = msg.correlationId;
    m.nodeName = msg.nodeName ?? this.opts.nodeName;
    m.vlan = msg.vlan;
    m.mos = msg.mos;
    m.rfactor = msg.rfactor;
    m.jitter = msg.jitter;
    m.payload = msg.payload;
    const n = encodeHep3(m, this.scratch);
    m.payload = ''; // do not retain the caller's payload
    if (n < 0) {
      if (n === HepEncodeStatus.EMPTY_CORRELATION_ID) this.refusedCid++;
      else if (n === HepEncodeStatus.TOO_BIG) this.refusedBig++;
      else this.refusedInvalid++;
      this.opts.onRefused?.(describeHepEncodeStatus(n), msg);
      return false;
    }
    const packet = Buffer.allocUnsafe(n);
    this.scratch.copy(packet, 0, 0, n);
    this.accepted++;
    for (let i = 0; i < this.collectors.length; i++) if (only === undefined || only.has(this.collectors[i]!.name)) this.collectors[i]!.enqueue(packet);
    return true;
  }

  /** The collectors' names (as in stats() and logs), in configuration order. */
  get collectorNames(): string[] {
    return this.names;
  }

  stats(): HepSenderStats {
    return {
      accepted: this.accepted,
      refused: { emptyCorrelationId: this.refusedCid, tooBig: this.refusedBig, invalid: this.refusedInvalid },
      collectors: this.collectors.map((c) => c.stats()),
    };
  }

  /** Null while every collector's queue is below half full; otherwise resolves once they all are. */
  room(): Promise<void> | null {
    const waits = this.collectors.map((c) => c.room()).filter((p): p is Promise<void> => p !== null);
    return waits.length === 0 ? null : Promise.all(waits).then(() => undefined);
  }

  /** Null when every collector has handed over its queue (or is down); otherwise resolves once they have. */
  settled(): Promise<void> | null {
    const waits = this.collectors.map((c) => c.settled()).filter((p): p is Promise<void> => p !== null);
    return waits.length === 0 ? null : Promise.all(waits).then(() => undefined);
  }

  /** Drains every collector's queue within `deadlineMs` (in parallel), then gives up: leftovers count as dropped. */
  async close(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.collectors.map((c) => c.close(deadlineMs)));
  }
}
