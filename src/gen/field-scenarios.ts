/**
 * Small calls that do what real networks do, each reproducible from (kind, seed): heavy loss and delay
 * variation, sequence/timestamp wrap, rtcp-mux, reordering (the first packets too), SPAN duplicates, an
 * SSRC change and a stray SSRC on one 5-tuple, a timestamp reset, talkspurts, comfort noise, RFC 4733
 * events with and without SDP, unsignalled dynamic payload types at 8/16/48/90 kHz, RTP and RTCP after
 * BYE, rejected and accepted re-INVITEs, early media of answered and rejected calls, B2BUA legs sharing
 * media addresses, unsignalled RTP on even and odd ports and duplicated, a host clock step, random SSRCs and
 * junk sprayed at a call's bound ports, SIP over TCP; each over any FrameWrapper
 * encapsulation and IPv4 or IPv6. Scenarios of one capture use disjoint addresses (their `slot`), so many
 * run side by side in one file. Fixtures for differential tests against tshark; clarity over speed.
 */
import { impair, ipUdp, FrameWrapper, type ArrivedPacket, type Impairments, type SentPacket, type Wrap } from './network.js';
import { ipv4, ipv6, rtp, tcp, TcpFlags, text } from './packets.js';
import { SeededRandom } from './random.js';
import { rtcpBye, rtcpCompound, rtcpSdes, rtcpSr } from './rtcp.js';
import { sdpBody, sipRequest, sipResponse } from './sip.js';

export const FIELD_KINDS = [
  'basic', 'lossy', 'seq-wrap', 'rtcp-mux', 'reorder', 'reorder-first', 'duplicates', 'ssrc-change', 'ts-reset',
  'talkspurts', 'comfort-noise', 'events-sdp', 'after-bye', 'rejected-reinvite', 'reinvite-move', 'early-media',
  'early-media-rejected', 'b2bua', 'stray-ssrc', 'unsignalled', 'unsignalled-odd-port', 'unsignalled-duplicates',
  'events-nosdp', 'dyn-8k', 'dyn-16k', 'dyn-48k', 'dyn-90k', 'clock-step', 'junk-ssrc', 'sip-tcp',
] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

/** Kinds whose RTP no SIP sets up: tshark needs `-o rtp.heuristic_rtp:TRUE` to list them. */
export const UNSIGNALLED_KINDS: ReadonlySet<FieldKind> = new Set([
  'unsignalled', 'unsignalled-odd-port', 'unsignalled-duplicates', 'events-nosdp', 'dyn-8k', 'dyn-16k', 'dyn-48k', 'dyn-90k',
]);

/**
 * Payload type, true clock and SDP encoding of each unsignalled dynamic kind. tshark shows no jitter for a
 * dynamic type it has no clock for: its reference comes from a twin capture where SIP declares the type.
 */
export const DYNAMIC_CLOCKS: Record<'dyn-8k' | 'dyn-16k' | 'dyn-48k' | 'dyn-90k', { pt: number; clock: number; encoding: string }> = {
  'dyn-8k': { pt: 118, clock: 8000, encoding: 'AMR/8000' },
  'dyn-16k': { pt: 97, clock: 16000, encoding: 'AMR-WB/16000' },
  'dyn-48k': { pt: 111, clock: 48000, encoding: 'opus/48000/2' },
  'dyn-90k': { pt: 96, clock: 90000, encoding: 'H264/90000' },
};

export interface FieldScenarioSpec {
  kind: FieldKind;
  seed: number;
  wrap: Wrap;
  ipv6: boolean;
  /** Address block of the scenario inside its capture (0..16383). */
  slot: number;
  /** Capture time of the scenario's first packet, ns after the capture start. */
  startNs: number;
}

export interface FieldScenario {
  spec: FieldScenarioSpec;
  /** True when its RTP is unsignalled (see UNSIGNALLED_KINDS). */
  unsignalled: boolean;
  /** Frames in capture order: time in ns after the capture start (whole microseconds) and bytes. */
  frames: Array<{ tNs: number; data: Uint8Array }>;
  /**
   * The same frames plus SIP that declares what the scenario leaves unsignalled (dynamic payload types and
   * their clocks): what the reference reads so it can measure jitter. Equal to `frames` otherwise.
   */
  referenceFrames: Array<{ tNs: number; data: Uint8Array }>;
  /** Inner IP addresses the scenario uses: a stream belongs to the scenario whose address it carries. */
  addresses: string[];
  /**
   * The capture host's clock steps during the scenario (`frames` carry the step, `referenceFrames` do not):
   * a step concerns every packet of a capture, so such a scenario is replayed alone, and its frames are in
   * capture order, which is not time order after a step back.
   */
  ownCapture: boolean;
}

const MS = 1_000_000;
const NTP_UNIX_OFFSET = 2208988800;

/**
 * UDP ports in the media range that decoders give to another protocol by port number (tshark 4.0's
 * udp.port table: TZSP, UA/UDP, quake...): RTP there is not RTP to them, so media ports avoid them.
 */
const CLAIMED_UDP_PORTS: ReadonlySet<number> = new Set([
  10253, 10500, 11211, 11273, 11898, 12000, 12001, 12002, 12003, 12004, 12220, 12222, 12223, 13400, 13819, 13907,
  13910, 17220, 17500, 17754, 17755, 17756, 18246, 19132, 19788, 19948, 19999, 20000, 20561, 22222, 23272, 24576,
  24577, 25826, 26000, 27036, 27500, 27910, 27950, 27951, 27952, 27953, 27960, 27961, 27962, 27963, 30030, 32000,
  32512, 34962, 34980, 37008, 41170, 44818, 45564, 47000, 47808, 49999, 54328, 56000, 56001, 56500, 56501, 57000,
  57001, 57032, 57033, 57500, 57501, 57532, 57533, 59000, 59001, 59032, 59033, 59500, 59501, 59532, 59533,
]);

interface Party {
  ip: string;
  rtp: number;
}

interface Codec {
  pt: number;
  name: string;
  clock: number;
  /** Payload bytes of 20 ms. */
  bytes: number;
  fill: number;
}

const AUDIO: Codec[] = [
  { pt: 8, name: 'PCMA', clock: 8000, bytes: 160, fill: 0xd5 },
  { pt: 0, name: 'PCMU', clock: 8000, bytes: 160, fill: 0xff },
  { pt: 18, name: 'G729', clock: 8000, bytes: 20, fill: 0x11 },
];

/** One RTP sender: sequence number, timestamp and send time advance as packets are sent. */
class RtpSender {
  readonly sent: SentPacket[] = [];
  ssrc: number;
  seq: number;
  ts: number;
  tNs: number;
  /** Packets and octets sent (for RTCP SRs). */
  packets = 0;
  octets = 0;
  private readonly samples: number;

  constructor(
    private readonly rnd: SeededRandom,
    readonly from: Party,
    readonly to: Party,
    readonly codec: Codec,
    startNs: number,
    readonly ptimeMs = 20,
  ) {
    this.ssrc = rnd.int(1, 0xfffffffe) >>> 0;
    this.seq = rnd.int(0, 65535);
    this.ts = rnd.int(200_000, 0x7fffffff);
    this.tNs = startNs;
    this.samples = (codec.clock * ptimeMs) / 1000;
  }

  /** One packet now, without advancing time. */
  packet(pt: number, payload: Uint8Array, marker = false, ts = this.ts): void {
    const data = rtp({ pt, seq: this.seq, ts: ts >>> 0, ssrc: this.ssrc, marker, payload });
    this.sent.push({ sendNs: this.tNs, ip: ipUdp(this.from.ip, this.from.rtp, this.to.ip, this.to.rtp, data) });
    this.seq = (this.seq + 1) & 0xffff;
    this.packets++;
    this.octets += payload.length;
  }

  /** `n` voice packets at the codec's packetization; marker on the first when `talkspurt`. */
  voice(n: number, talkspurt = false): void {
    const c = this.codec;
    for (let i = 0; i < n; i++) {
      const payload = new Uint8Array(Math.max(1, Math.round((c.bytes * this.ptimeMs) / 20))).fill(c.fill);
      payload[0] = this.rnd.int(0, 255); // payloads differ, as real ones do
      this.packet(c.pt, payload, talkspurt && i === 0);
      this.advance(this.ptimeMs);
    }
  }

  /** Time and timestamp move on without a packet (silence suppression, a paused sender). */
  advance(ms: number): void {
    this.tNs += Math.round(ms * MS);
    this.ts = (this.ts + Math.round((this.codec.clock * ms) / 1000)) >>> 0;
  }

  /** Silence with comfort noise (PT 13, noise level byte): one CN packet now and one every `everyMs`. */
  comfortNoise(ms: number, everyMs: number): void {
    for (let left = ms; left > 0; left -= everyMs) {
      this.packet(13, Uint8Array.from([this.rnd.int(40, 90)]));
      this.advance(Math.min(everyMs, left));
    }
  }

  /**
   * An RFC 4733 digit: `n` packets every ptime sharing the digit's start timestamp, marker on the first,
   * duration growing; then 3 end packets (E bit), retransmitted with one sequence number when `sameSeqEnd`.
   */
  event(pt: number, digit: number, n: number, sameSeqEnd: boolean): void {
    const start = this.ts;
    const body = (dur: number, end: boolean) => Uint8Array.from([digit, (end ? 0x80 : 0) | 10, (dur >> 8) & 0xff, dur & 0xff]);
    for (let i = 0; i < n; i++) {
      this.packet(pt, body((i + 1) * this.samples, false), i === 0, start);
      this.advance(this.ptimeMs);
    }
    const dur = (n + 1) * this.samples;
    for (let i = 0; i < 3; i++) {
      if (sameSeqEnd && i > 0) this.seq = (this.seq - 1) & 0xffff;
      this.packet(pt, body(dur, true), false, start);
      this.tNs += 5 * MS;
    }
    this.advance(this.ptimeMs);
  }

  /** The sender restarts: new SSRC, sequence and timestamp bases on the same 5-tuple. */
  restart(): void {
    this.ssrc = this.rnd.int(1, 0xfffffffe) >>> 0;
    this.seq = this.rnd.int(0, 65535);
    this.ts = this.rnd.int(200_000, 0x7fffffff);
  }
}

/** Builds one scenario's packets; `frames()` wraps and orders them. */
class ScenarioBuilder {
  readonly rnd: SeededRandom;
  readonly arrivals: ArrivedPacket[] = [];
  /** SIP only the reference capture carries (see FieldScenario.referenceFrames). */
  readonly declarations: ArrivedPacket[] = [];
  readonly a: string;
  readonly b: string;
  readonly c: string;
  readonly startNs: number;
  /** Packetization of the scenario's audio: mostly 20 ms, sometimes 10, 30 or 40. */
  readonly ptimeMs: number;

  constructor(readonly spec: FieldScenarioSpec) {
    this.rnd = new SeededRandom(spec.seed ^ 0x5bd1e995);
    const p = new SeededRandom(spec.seed ^ 0x2545f491).next();
    this.ptimeMs = p < 0.7 ? 20 : p < 0.8 ? 10 : p < 0.9 ? 30 : 40;
    const k = spec.slot;
    const host = (h: number) => (spec.ipv6 ? `2001:db8:${(0x100 + (k >> 8)).toString(16)}:${((k & 255) + 1).toString(16)}::${h}` : `10.${64 + (k >> 8)}.${k & 255}.${h}`);
    this.a = host(1);
    this.b = host(2);
    this.c = host(3);
    this.startNs = spec.startNs;
  }

  /** An endpoint with an RTP port (even unless `odd`) whose port and the next are nobody else's. */
  party(ip: string, odd = false): Party {
    for (;;) {
      const rtp = this.rnd.int(5000, 29999) * 2 + (odd ? 1 : 0);
      if (!CLAIMED_UDP_PORTS.has(rtp) && !CLAIMED_UDP_PORTS.has(rtp + 1)) return { ip, rtp };
    }
  }

  codec(): Codec {
    return AUDIO[this.rnd.int(0, AUDIO.length - 1)];
  }

  sender(from: Party, to: Party, codec: Codec, startNs: number): RtpSender {
    return new RtpSender(this.rnd, from, to, codec, startNs, this.ptimeMs);
  }

  /** While true, sip() writes reference-only declarations. */
  declaring = false;
  /** The capture clock steps by stepNs at atNs (capture time before the step); probe frames only. */
  clockStep: { atNs: number; stepNs: number } | null = null;
  /** SIP over TCP: one connection per pair of addresses, its client on an ephemeral port (null: UDP). */
  sipTcp: Map<string, { client: string; clientPort: number; seq: Map<string, number> }> | null = null;

  /** A SIP message over UDP 5060 (or TCP, see sipTcp), delivered 1 ms after `tNs`, never lost. */
  sip(tNs: number, from: string, to: string, message: string): void {
    const t = Math.round(tNs / 1000) * 1000 + MS;
    const into = this.declaring ? this.declarations : this.arrivals;
    if (this.sipTcp === null || this.declaring) {
      into.push({ tNs: t, ip: ipUdp(from, 5060, to, 5060, text(message)) });
      return;
    }
    for (const [i, seg] of this.tcpSegments(from, to, text(message)).entries()) into.push({ tNs: t + i * 20_000, ip: seg });
  }

  /**
   * TCP segments carrying `payload` from `from` to `to` on their connection (opened by a handshake on first
   * use); a message is sometimes split in two segments, as a stack with a small send buffer does.
   */
  private tcpSegments(from: string, to: string, payload: Uint8Array): Uint8Array[] {
    const key = from < to ? `${from} ${to}` : `${to} ${from}`;
    const out: Uint8Array[] = [];
    const ip = (src: string, dst: string, seg: Uint8Array) => (src.includes(':') ? ipv6(src, dst, 6, seg) : ipv4(src, dst, 6, seg));
    let c = this.sipTcp!.get(key);
    const port = (addr: string) => (addr === c!.client ? c!.clientPort : 5060);
    if (c === undefined) {
      c = { client: from, clientPort: this.rnd.int(20000, 60000), seq: new Map([[from, this.rnd.int(1, 0x7fffffff)], [to, this.rnd.int(1, 0x7fffffff)]]) };
      this.sipTcp!.set(key, c);
      const [cs, ss] = [c.seq.get(from)!, c.seq.get(to)!];
      out.push(ip(from, to, tcp(port(from), 5060, cs, new Uint8Array(0), TcpFlags.SYN)));
      out.push(ip(to, from, tcp(5060, port(from), ss, new Uint8Array(0), TcpFlags.SYN | TcpFlags.ACK, cs + 1)));
      out.push(ip(from, to, tcp(port(from), 5060, cs + 1, new Uint8Array(0), TcpFlags.ACK, ss + 1)));
      c.seq.set(from, cs + 1);
      c.seq.set(to, ss + 1);
    }
    const parts = payload.length > 200 && this.rnd.next() < 0.3 ? [payload.subarray(0, 120), payload.subarray(120)] : [payload];
    for (const part of parts) {
      const seq = c.seq.get(from)!;
      out.push(ip(from, to, tcp(port(from), port(to), seq, part, TcpFlags.ACK | TcpFlags.PSH, c.seq.get(to)!)));
      c.seq.set(from, (seq + part.length) >>> 0);
    }
    return out;
  }

  /** A sender's packets through the network; returns when the last one arrives (ns). */
  deliver(s: RtpSender, o: Impairments): number {
    let last = 0;
    for (const p of impair(s.sent, this.rnd, o)) {
      this.arrivals.push(p);
      if (p.tNs > last) last = p.tNs;
    }
    return last;
  }

  /** Everyday network: a few ms of delay variation, sometimes a little loss. */
  everyday(): Impairments {
    return { jitterMs: this.rnd.int(0, 4), lossPct: this.rnd.next() < 0.3 ? this.rnd.int(1, 3) : 0 };
  }

  /** SR + SDES every second while the sender sent, then an RTCP BYE at `byeNs` (RTP port + 1, or the RTP port with `mux`). */
  rtcp(s: RtpSender, fromNs: number, untilNs: number, byeNs: number, mux = false): void {
    const from = { ip: s.from.ip, rtp: s.from.rtp + (mux ? 0 : 1) };
    const to = { ip: s.to.ip, rtp: s.to.rtp + (mux ? 0 : 1) };
    const sdes = () => rtcpSdes([{ ssrc: s.ssrc, items: [{ type: 1, value: `u${s.ssrc}@difftest` }] }]);
    for (let t = fromNs + 1000 * MS; t < untilNs; t += 1000 * MS) {
      const abs = 1_700_000_000 + t / 1e9;
      const sec = Math.floor(abs);
      const sr = rtcpSr({ ssrc: s.ssrc, ntpSec: (sec + NTP_UNIX_OFFSET) >>> 0, ntpFrac: Math.floor((abs - sec) * 4294967296) >>> 0, rtpTs: s.ts, packets: s.packets, octets: s.octets });
      this.arrivals.push({ tNs: Math.round(t / 1000) * 1000, ip: ipUdp(from.ip, from.rtp, to.ip, to.rtp, rtcpCompound(sr, sdes())) });
    }
    this.arrivals.push({ tNs: Math.round(byeNs / 1000) * 1000, ip: ipUdp(from.ip, from.rtp, to.ip, to.rtp, rtcpCompound(rtcpSdes([{ ssrc: s.ssrc, items: [] }]), rtcpBye({ ssrcs: [s.ssrc] }))) });
  }

  /**
   * Frames in capture order: the probe's (with the clock step), or the reference's (with the declarations,
   * without the step).
   */
  frames(reference: boolean): FieldScenario['frames'] {
    const w = new FrameWrapper(this.spec.wrap, this.spec.slot, (this.spec.seed & 1) === 1);
    const all = reference ? [...this.arrivals, ...this.declarations] : this.arrivals;
    const order = all.map((p, i) => ({ p, i })).sort((x, y) => x.p.tNs - y.p.tNs || x.i - y.i);
    const step = reference ? null : this.clockStep;
    return order.map(({ p }) => ({ tNs: step !== null && p.tNs >= step.atNs ? p.tNs + step.stepNs : p.tNs, data: w.frame(p.ip) }));
  }
}

interface Leg {
  callId: string;
  caller: string;
  callee: string;
  fromTag: string;
  toTag: string;
  cseq: number;
  headers?: Array<[string, string]>;
}

function audioSdp(p: Party, c: Codec, ptime: number, rtcpMux = false): string {
  return sdpBody({ ip: p.ip, media: [{ port: p.rtp, formats: [c.pt, 13, 101], rtpmap: [[101, 'telephone-event/8000']], ptime, rtcpMux }] });
}

/** SIP of one dialog; every request from the caller unless `fromCallee`. */
class Dialog {
  constructor(private readonly s: ScenarioBuilder, readonly leg: Leg) {}

  private base(cseq: number) {
    const l = this.leg;
    return { callId: l.callId, fromTag: l.fromTag, via: `${l.caller}:5060`, cseq, headers: l.headers };
  }

  invite(tNs: number, sdp: string, cseq = this.leg.cseq): void {
    const l = this.leg;
    this.s.sip(tNs, l.caller, l.callee, sipRequest('INVITE', `sip:bob@${l.callee}`, { ...this.base(cseq), toTag: cseq > 1 ? l.toTag : undefined, body: sdp }));
  }

  respond(tNs: number, status: number, cseq: number, method = 'INVITE', sdp?: string): void {
    const l = this.leg;
    this.s.sip(tNs, l.callee, l.caller, sipResponse(status, { ...this.base(cseq), toTag: status > 100 ? l.toTag : undefined, cseqMethod: method, body: sdp }));
  }

  request(tNs: number, method: string, cseq: number): void {
    const l = this.leg;
    this.s.sip(tNs, l.caller, l.callee, sipRequest(method, `sip:bob@${l.callee}`, { ...this.base(cseq), toTag: l.toTag, cseqMethod: method }));
  }

  /** INVITE, 100, 180, 200 with `answer`, ACK; returns the time media starts. */
  establish(tNs: number, offer: string, answer: string, ringMs: number): number {
    this.invite(tNs, offer, 1);
    this.respond(tNs + 5 * MS, 100, 1);
    this.respond(tNs + 30 * MS, 180, 1);
    const ok = tNs + (ringMs + 30) * MS;
    this.respond(ok, 200, 1, 'INVITE', answer);
    this.request(ok + 5 * MS, 'ACK', 1);
    return ok + 10 * MS;
  }

  hangup(tNs: number, cseq = 2): void {
    this.request(tNs, 'BYE', cseq);
    this.respond(tNs + 8 * MS, 200, cseq, 'BYE');
  }
}

function leg(spec: FieldScenarioSpec, caller: string, callee: string, n = 1): Leg {
  return { callId: `${spec.kind}-${spec.seed}-${n}@difftest.gen`, caller, callee, fromTag: `f${spec.seed}x${n}`, toTag: `t${spec.seed}x${n}`, cseq: 1 };
}

/** Voice for `ms` in both directions with talkspurt markers at the start. */
function talk(a: RtpSender, b: RtpSender, ms: number): void {
  const n = Math.max(1, Math.round(ms / a.ptimeMs));
  a.voice(n, true);
  b.voice(n, true);
}

type KindBuilder = (s: ScenarioBuilder) => void;

/** A calls B, B answers and both start sending: the start of the kinds that act in the middle of a call. */
function answeredCall(s: ScenarioBuilder) {
  const r = s.rnd;
  const codec = s.codec();
  const pa = s.party(s.a);
  const pb = s.party(s.b);
  const d = new Dialog(s, leg(s.spec, s.a, s.b));
  const media = d.establish(s.startNs, audioSdp(pa, codec, s.ptimeMs), audioSdp(pb, codec, s.ptimeMs), r.int(100, 800));
  const a = s.sender(pa, pb, codec, media);
  const b = s.sender(pb, pa, codec, media + r.int(0, 20) * MS);
  return { r, codec, pa, pb, d, media, a, b };
}

/** The plain signalled call every other signalled kind varies: A calls B, both talk, A hangs up. */
function signalledCall(
  s: ScenarioBuilder,
  o: { impair?: (dirA: boolean) => Impairments; media?: (a: RtpSender, b: RtpSender) => void; codec?: Codec; rtcpMux?: boolean; senders?: (a: RtpSender, b: RtpSender) => void } = {},
): void {
  const r = s.rnd;
  const codec = o.codec ?? s.codec();
  const pa = s.party(s.a);
  const pb = s.party(s.b);
  const d = new Dialog(s, leg(s.spec, s.a, s.b));
  const mux = o.rtcpMux === true;
  const media = d.establish(s.startNs, audioSdp(pa, codec, s.ptimeMs, mux), audioSdp(pb, codec, s.ptimeMs, mux), r.int(100, 1500));
  const a = s.sender(pa, pb, codec, media + r.int(0, 20) * MS);
  const b = s.sender(pb, pa, codec, media + r.int(0, 20) * MS);
  o.senders?.(a, b);
  if (o.media) o.media(a, b);
  else talk(a, b, r.int(1500, 4000));
  const lastA = s.deliver(a, o.impair ? o.impair(true) : s.everyday());
  const lastB = s.deliver(b, o.impair ? o.impair(false) : s.everyday());
  // BYE once the last RTP has arrived (RTP still in flight after it is what after-bye does).
  d.hangup(Math.max(lastA, lastB) + r.int(20, 200) * MS);
  // The RTCP BYE arrives after the sender's last RTP (overtaking it is what after-bye does).
  if (mux || r.next() < 0.5) {
    s.rtcp(a, media, a.tNs, lastA + r.int(1, 5) * MS, mux);
    s.rtcp(b, media, b.tNs, lastB + r.int(1, 5) * MS, mux);
  }
}

/** An unsignalled two-way (or one-way) RTP exchange between A and B. */
function unsignalled(s: ScenarioBuilder, codec: Codec, o: { odd?: boolean; media?: (x: RtpSender) => void; oneWay?: boolean; ptimeMs?: number; declare?: string; impair?: Impairments } = {}): void {
  const r = s.rnd;
  const pa = s.party(s.a, o.odd);
  const pb = s.party(s.b, o.odd);
  if (o.declare !== undefined) {
    // For the reference only: an offer/answer that names the type's encoding and clock, before any RTP.
    const sdp = (p: Party) => sdpBody({ ip: p.ip, media: [{ port: p.rtp, formats: [codec.pt], rtpmap: [[codec.pt, o.declare!]] }] });
    const d = new Dialog(s, leg(s.spec, s.a, s.b));
    s.declaring = true;
    d.invite(s.startNs, sdp(pa), 1);
    d.respond(s.startNs + 10 * MS, 200, 1, 'INVITE', sdp(pb));
    s.declaring = false;
  }
  const t0 = s.startNs + 50 * MS;
  const senders = [new RtpSender(r, pa, pb, codec, t0, o.ptimeMs)];
  if (!o.oneWay) senders.push(new RtpSender(r, pb, pa, codec, t0 + r.int(1, 30) * MS, o.ptimeMs));
  for (const x of senders) {
    if (o.media) o.media(x);
    else x.voice(r.int(60, 200), true);
    const last = s.deliver(x, o.impair ?? s.everyday());
    if (r.next() < 0.3) s.rtcp(x, s.startNs, x.tNs, last + r.int(1, 5) * MS);
  }
}

/** Dynamic-type media at its clock: audio every 20 ms, or video frames of 1..4 packets sharing a timestamp. */
function dynamic(kind: keyof typeof DYNAMIC_CLOCKS): KindBuilder {
  return (s) => {
    const { pt, clock, encoding } = DYNAMIC_CLOCKS[kind];
    const r = s.rnd;
    if (clock !== 90000) {
      const bytes = clock === 48000 ? r.int(60, 120) : clock === 16000 ? 61 : 32;
      unsignalled(s, { pt, name: kind, clock, bytes, fill: 0x3c }, { declare: encoding });
      return;
    }
    const fps = r.next() < 0.5 ? 25 : 30;
    unsignalled(s, { pt, name: 'video', clock, bytes: 900, fill: 0x41 }, {
      declare: encoding,
      oneWay: r.next() < 0.5,
      media: (x) => {
        const frames = r.int(40, 120);
        for (let f = 0; f < frames; f++) {
          const n = r.int(1, 4);
          const t0 = x.tNs;
          for (let i = 0; i < n; i++) {
            x.packet(pt, new Uint8Array(r.int(200, 1100)).fill(0x41), i === n - 1);
            x.tNs += 150_000;
          }
          x.tNs = t0;
          x.advance(1000 / fps);
        }
      },
    });
  };
}

const KINDS: Record<FieldKind, KindBuilder> = {
  basic: (s) => signalledCall(s),
  // A bad network: 5..20 % loss, in bursts or not, and up to 60 ms of delay variation (order kept).
  lossy: (s) => signalledCall(s, { impair: () => ({ jitterMs: s.rnd.int(10, 60), lossPct: s.rnd.int(5, 20) }) }),
  // Sequence numbers and timestamps that wrap during the call.
  'seq-wrap': (s) =>
    signalledCall(s, {
      senders: (a, b) => {
        for (const x of [a, b]) {
          x.seq = 65535 - s.rnd.int(0, 40);
          x.ts = 0xffffffff - s.rnd.int(0, 40) * 160;
        }
      },
    }),
  // RTCP on the RTP port (RFC 5761), announced by a=rtcp-mux.
  'rtcp-mux': (s) => signalledCall(s, { rtcpMux: true }),
  reorder: (s) =>
    signalledCall(s, {
      impair: () => ({ jitterMs: s.rnd.int(0, 3), swapPct: s.rnd.int(1, 8), latePct: s.rnd.int(0, 3) }),
    }),
  // Packet 2 before packet 1 (in one or both directions): the stream starts with a timestamp older than its first.
  'reorder-first': (s) => {
    const both = s.rnd.next() < 0.5;
    signalledCall(s, { impair: (dirA) => ({ jitterMs: s.rnd.int(0, 3), swapFirst: dirA || both, swapPct: s.rnd.int(0, 4) }) });
  },
  duplicates: (s) => {
    const every = s.rnd.next() < 0.5;
    const both = s.rnd.next() < 0.5;
    signalledCall(s, { impair: (dirA) => ({ jitterMs: s.rnd.int(0, 2), duplicatePct: dirA || both ? (every ? 100 : s.rnd.int(5, 40)) : 0 }) });
  },
  'ssrc-change': (s) =>
    signalledCall(s, {
      media: (a, b) => {
        const n = s.rnd.int(60, 150);
        const m = s.rnd.int(5, n - 5);
        a.voice(m, true);
        a.restart();
        a.voice(n - m, true);
        b.voice(n, true);
      },
    }),
  'ts-reset': (s) =>
    signalledCall(s, {
      media: (a, b) => {
        const n = s.rnd.int(60, 150);
        const m = s.rnd.int(5, n - 5);
        a.voice(m, true);
        a.ts = s.rnd.next() < 0.5 ? 0 : s.rnd.int(0, 100_000); // endpoint restarts its clock, below the first timestamp
        a.voice(n - m, s.rnd.next() < 0.5);
        b.voice(n, true);
      },
    }),
  talkspurts: (s) =>
    signalledCall(s, {
      media: (a, b) => {
        for (const x of [a, b]) {
          for (let k = s.rnd.int(2, 4); k > 0; k--) {
            x.voice(s.rnd.int(10, 60), true);
            if (k > 1) x.advance(s.rnd.int(10, 75) * 20);
          }
        }
      },
    }),
  'comfort-noise': (s) =>
    signalledCall(s, {
      media: (a, b) => {
        for (const x of [a, b]) {
          for (let k = s.rnd.int(2, 4); k > 0; k--) {
            x.voice(s.rnd.int(10, 60), true);
            if (k > 1) x.comfortNoise(s.rnd.int(10, 75) * 20, s.rnd.next() < 0.5 ? 100 : 160);
          }
        }
      },
    }),
  'events-sdp': (s) =>
    signalledCall(s, {
      media: (a, b) => {
        const sameSeq = s.rnd.next() < 0.5;
        let first = true;
        for (let k = s.rnd.int(1, 3); k > 0; k--) {
          a.voice(s.rnd.int(10, 40), first);
          first = false;
          a.event(101, s.rnd.int(0, 11), s.rnd.int(3, 10), sameSeq);
        }
        a.voice(s.rnd.int(10, 40));
        b.voice(s.rnd.int(60, 150), true);
      },
    }),
  'after-bye': (s) => {
    // The BYE goes out while RTP is still in flight: the last 1..3 packets of each direction and the RTCP BYEs
    // arrive 0.2..18 ms after it.
    const { r, codec, pa, pb, d, media, a, b } = answeredCall(s);
    talk(a, b, r.int(1000, 3000));
    const trailing = Math.min(a.sent.length, b.sent.length, r.int(1, 3));
    const bye = Math.min(a.sent[a.sent.length - trailing].sendNs, b.sent[b.sent.length - trailing].sendNs) + MS - r.int(0, 800) * 1000;
    d.hangup(bye - MS); // sip() adds the 1 ms path delay
    const lastA = s.deliver(a, { jitterMs: r.int(0, 2) });
    const lastB = s.deliver(b, { jitterMs: r.int(0, 2) });
    // Each sender's RTCP BYE follows its own last RTP packet.
    s.rtcp(a, media, a.tNs, Math.max(bye + r.int(200, 18000) * 1000, lastA + r.int(100, 2000) * 1000));
    s.rtcp(b, media, b.tNs, Math.max(bye + r.int(200, 18000) * 1000, lastB + r.int(100, 2000) * 1000));
  },
  'rejected-reinvite': (s) => {
    // Mid-call the caller offers T.38 (or audio on a new port); the callee answers 488; media carries on.
    const { r, codec, pa, pb, d, media, a, b } = answeredCall(s);
    talk(a, b, r.int(800, 2000));
    const moved = s.party(s.a);
    const offer = r.next() < 0.5
      ? sdpBody({ ip: s.a, media: [{ kind: 'image', port: moved.rtp, proto: 'udptl', formats: ['t38'] }] })
      : audioSdp(moved, codec, s.ptimeMs);
    const t = Math.max(a.tNs, b.tNs);
    d.invite(t, offer, 2);
    d.respond(t + 5 * MS, 100, 2);
    d.respond(t + r.int(20, 300) * MS, 488, 2);
    d.request(t + 320 * MS, 'ACK', 2);
    a.voice(r.int(50, 120));
    b.voice(r.int(50, 120));
    d.hangup(Math.max(a.tNs, b.tNs) + 50 * MS, 3);
    s.deliver(a, s.everyday());
    s.deliver(b, s.everyday());
  },
  'reinvite-move': (s) => {
    // An accepted re-INVITE moves the caller's media to a new port (same SSRC carries on).
    const { r, codec, pa, pb, d, media, a, b } = answeredCall(s);
    talk(a, b, r.int(800, 2000));
    const moved = s.party(s.a);
    const t = Math.max(a.tNs, b.tNs) + 10 * MS;
    d.invite(t, audioSdp(moved, codec, s.ptimeMs), 2);
    d.respond(t + 40 * MS, 200, 2, 'INVITE', audioSdp(pb, codec, s.ptimeMs));
    d.request(t + 45 * MS, 'ACK', 2);
    const a2 = s.sender(moved, pb, codec, t + 60 * MS);
    a2.ssrc = a.ssrc;
    a2.seq = a.seq;
    const b2 = s.sender(pb, moved, codec, t + 60 * MS);
    b2.ssrc = b.ssrc;
    b2.seq = b.seq;
    talk(a2, b2, r.int(800, 2000));
    d.hangup(Math.max(a2.tNs, b2.tNs) + 50 * MS, 3);
    for (const x of [a, b, a2, b2]) s.deliver(x, s.everyday());
  },
  'early-media': (s) => earlyMedia(s, false),
  'early-media-rejected': (s) => earlyMedia(s, true),
  b2bua: (s) => {
    // A -> C (B2BUA, leg 1) -> B (leg 2), both legs carrying the same media addresses; media flows A <-> B.
    const r = s.rnd;
    const codec = s.codec();
    const pa = s.party(s.a);
    const pb = s.party(s.b);
    const l1 = leg(s.spec, s.a, s.c, 1);
    const l2 = leg(s.spec, s.c, s.b, 2);
    if (r.next() < 0.5) l2.headers = [['X-CID', l1.callId]];
    const d1 = new Dialog(s, l1);
    const d2 = new Dialog(s, l2);
    const t0 = s.startNs;
    d1.invite(t0, audioSdp(pa, codec, s.ptimeMs), 1);
    d1.respond(t0 + 3 * MS, 100, 1);
    d2.invite(t0 + 10 * MS, audioSdp(pa, codec, s.ptimeMs), 1);
    d2.respond(t0 + 15 * MS, 100, 1);
    d2.respond(t0 + 40 * MS, 180, 1);
    d1.respond(t0 + 45 * MS, 180, 1);
    const ok = t0 + r.int(200, 1200) * MS;
    d2.respond(ok, 200, 1, 'INVITE', audioSdp(pb, codec, s.ptimeMs));
    d2.request(ok + 3 * MS, 'ACK', 1);
    d1.respond(ok + 8 * MS, 200, 1, 'INVITE', audioSdp(pb, codec, s.ptimeMs));
    d1.request(ok + 12 * MS, 'ACK', 1);
    const a = s.sender(pa, pb, codec, ok + 20 * MS);
    const b = s.sender(pb, pa, codec, ok + 12 * MS);
    talk(a, b, r.int(1000, 3000));
    const end = Math.max(a.tNs, b.tNs) + 30 * MS;
    d1.hangup(end);
    d2.hangup(end + 10 * MS);
    s.deliver(a, s.everyday());
    s.deliver(b, s.everyday());
  },
  // One packet of another SSRC inside a stream (a stray from elsewhere on the same 5-tuple).
  'stray-ssrc': (s) =>
    signalledCall(s, {
      media: (a, b) => {
        const n = s.rnd.int(60, 150);
        const m = s.rnd.int(5, n - 5);
        a.voice(m, true);
        const [ssrc, seq, ts] = [a.ssrc, a.seq, a.ts];
        a.restart();
        a.packet(a.codec.pt, new Uint8Array(a.codec.bytes).fill(a.codec.fill));
        [a.ssrc, a.seq, a.ts] = [ssrc, seq, ts];
        a.tNs += 3 * MS;
        a.voice(n - m);
        b.voice(n, true);
      },
    }),
  unsignalled: (s) => unsignalled(s, s.codec(), { ptimeMs: s.ptimeMs }),
  // A mirror port that delivers every packet twice.
  'unsignalled-duplicates': (s) => unsignalled(s, s.codec(), { ptimeMs: s.ptimeMs, impair: { jitterMs: s.rnd.int(0, 2), duplicatePct: 100 } }),
  'unsignalled-odd-port': (s) => unsignalled(s, s.codec(), { odd: true, ptimeMs: s.ptimeMs }),
  'events-nosdp': (s) => {
    const pt = s.rnd.next() < 0.6 ? 101 : 100;
    const sameSeq = s.rnd.next() < 0.5;
    unsignalled(s, AUDIO[0], {
      media: (x) => {
        x.voice(s.rnd.int(10, 40), true);
        x.event(pt, s.rnd.int(0, 11), s.rnd.int(3, 10), sameSeq);
        x.voice(s.rnd.int(10, 40));
      },
    });
  },
  'dyn-8k': dynamic('dyn-8k'),
  'dyn-16k': dynamic('dyn-16k'),
  'dyn-48k': dynamic('dyn-48k'),
  'dyn-90k': dynamic('dyn-90k'),
  // The capture host's clock steps (NTP) mid-call, forward up to 700 s or back up to 60 s; the reference is
  // the same call without the step. Packets sent within 100 ms of the step arrive without delay variation:
  // the first packet after the step measures it, and its own delay variation could not be told from it.
  'clock-step': (s) => {
    let mid = 0;
    signalledCall(s, {
      impair: () => ({ ...s.everyday(), steadyNs: [mid - 100 * MS, mid + 100 * MS] }),
      media: (a, b) => {
        talk(a, b, s.rnd.int(1500, 4000));
        mid = a.sent[Math.floor(a.sent.length / 2)].sendNs;
      },
    });
    const stepMs = s.rnd.next() < 0.6 ? s.rnd.int(2000, 700_000) : -s.rnd.int(1500, 60_000);
    s.clockStep = { atNs: mid + MS + 500_000, stepNs: stepMs * MS };
  },
  // Random SSRCs sprayed at a call's bound RTP port (from its peer's address and port, and from elsewhere)
  // and junk at its RTCP port: none may start a stream or disturb the call's.
  'junk-ssrc': (s) => {
    const spray: Array<{ from: Party; to: Party; pt: number }> = [];
    signalledCall(s, {
      senders: (a) => {
        spray.push({ from: a.from, to: a.to, pt: a.codec.pt }, { from: s.party(s.c), to: a.to, pt: s.rnd.int(0, 127) });
      },
      media: (a, b) => {
        talk(a, b, s.rnd.int(1500, 4000));
        const t0 = a.sent[0].sendNs;
        const t1 = a.sent[a.sent.length - 1].sendNs;
        const r = s.rnd;
        for (let i = r.int(20, 300); i > 0; i--) {
          const x = spray[r.next() < 0.7 ? 0 : 1];
          const payload = new Uint8Array(r.int(10, 200)).map(() => r.int(0, 255));
          const data = rtp({ pt: x.pt, seq: r.int(0, 65535), ts: r.int(0, 0x7fffffff), ssrc: r.int(1, 0xfffffffe) >>> 0, marker: r.next() < 0.1, payload });
          s.arrivals.push({ tNs: Math.round((t0 + r.next() * (t1 - t0)) / 1000) * 1000, ip: ipUdp(x.from.ip, x.from.rtp, x.to.ip, x.to.rtp, data) });
        }
        for (let i = r.int(5, 60); i > 0; i--) {
          const junk = new Uint8Array(r.int(4, 120)).map(() => r.int(0, 255));
          if (r.next() < 0.5) junk[0] = 0x80 | (junk[0] & 0x3f); // version 2, as RTCP and RTP have
          s.arrivals.push({ tNs: Math.round((t0 + r.next() * (t1 - t0)) / 1000) * 1000, ip: ipUdp(a.from.ip, a.from.rtp + 1, a.to.ip, a.to.rtp + 1, junk) });
        }
      },
    });
  },
  // The call's SIP over TCP (one connection, a message sometimes in two segments).
  'sip-tcp': (s) => {
    s.sipTcp = new Map();
    signalledCall(s);
  },
};

/** INVITE, 183 with SDP, early media from the callee (and sometimes the caller), then 200 or 480. */
function earlyMedia(s: ScenarioBuilder, rejected: boolean): void {
  const r = s.rnd;
  const codec = s.codec();
  const pa = s.party(s.a);
  const pb = s.party(s.b);
  const d = new Dialog(s, leg(s.spec, s.a, s.b));
  const t0 = s.startNs;
  d.invite(t0, audioSdp(pa, codec, s.ptimeMs), 1);
  d.respond(t0 + 5 * MS, 100, 1);
  d.respond(t0 + 30 * MS, 183, 1, 'INVITE', audioSdp(pb, codec, s.ptimeMs));
  const b = s.sender(pb, pa, codec, t0 + 50 * MS);
  const a = s.sender(pa, pb, codec, t0 + 60 * MS);
  const n = r.int(10, 100);
  b.voice(n, true);
  if (r.next() < 0.3) a.voice(n, true);
  if (rejected) {
    // After the last early media has arrived (RTP still in flight after the end is after-bye's case).
    const t = Math.max(a.tNs, b.tNs) + r.int(5, 30) * MS;
    d.respond(t, 480, 1);
    d.request(t + 5 * MS, 'ACK', 1);
  } else {
    const ok = b.tNs;
    d.respond(ok, 200, 1, 'INVITE', audioSdp(pb, codec, s.ptimeMs));
    d.request(ok + 5 * MS, 'ACK', 1);
    if (a.packets === 0) a.tNs = ok + 10 * MS;
    talk(a, b, r.int(800, 2500));
    d.hangup(Math.max(a.tNs, b.tNs) + 40 * MS);
  }
  s.deliver(a, s.everyday());
  s.deliver(b, s.everyday());
}

export function buildFieldScenario(spec: FieldScenarioSpec): FieldScenario {
  const s = new ScenarioBuilder(spec);
  KINDS[spec.kind](s);
  const frames = s.frames(false);
  const referenceFrames = s.declarations.length || s.clockStep !== null ? s.frames(true) : frames;
  return { spec, unsignalled: UNSIGNALLED_KINDS.has(spec.kind), frames, referenceFrames, addresses: [s.a, s.b, s.c], ownCapture: s.clockStep !== null };
}

/** Mixes a run seed and a scenario index into the scenario's seed (31 bits, printable). */
export function scenarioSeed(runSeed: number, index: number): number {
  const r = new SeededRandom((runSeed * 0x9e3779b1 + index * 0x85ebca6b) >>> 0);
  r.next();
  return r.int(1, 0x7fffffff);
}
