import type { RtcpReader } from './reader.js';

/** Middle 32 bits of a 64-bit NTP timestamp (what LSR / LRR carry). */
export function ntpMiddle32(ntpSec: number, ntpFrac: number): number {
  return (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
}

/**
 * RFC 3550 6.4.1 round trip as the SR sender computes it: A - LSR - DLSR, all NTP 16.16 (32-bit wrap),
 * in seconds. Example: A 0xB7108000, LSR 0xB7052000, DLSR 0x00054000 -> 0x00062000 = 6.125 s.
 */
export function rttFromLsrDlsr(arrivalMiddle32: number, lsr: number, dlsr: number): number {
  return ((arrivalMiddle32 - lsr - dlsr) >>> 0) / 65536;
}

export interface RttSample {
  /** SSRC of the RR/XR sender (the far end that echoed the reference). */
  reporterSsrc: number;
  /** SSRC whose SR (or whose RRTR) is referenced. */
  sourceSsrc: number;
  /** Probe <-> reporter round trip, ms. */
  rttMs: number;
  via: 'RR' | 'DLRR';
  /** Capture time (ms) of the referenced SR / RRTR. */
  refTimeMs: number;
}

/**
 * One end of the path an RTCP packet travelled, compared with === only: any value that names the address
 * and port ('ip:port', or the pipeline's number for IPv4); '' when not known.
 */
export type RtcpEndpoint = string | number;

const RING = 8;
/** Rings the tables start with (doubled as SSRCs come, up to the tracker's maxSsrcs). */
const FIRST_RINGS = 64;

/**
 * The last RING references of each SSRC (SR or RRTR sender), at most `max` SSRCs (the oldest inserted
 * evicted, its ring reused). Every ring lives in typed arrays shared by all: no object per sender. A
 * reference's path is kept as its two endpoints, compared as they are: numbers in place, text ('' when not
 * known) beside them in an array made at the first text endpoint.
 */
class RefRings {
  private readonly ring = new Map<number, number>();
  private mids = new Uint32Array(FIRST_RINGS * RING);
  private times = new Float64Array(FIRST_RINGS * RING);
  /** Numeric endpoints of each reference; NaN when they are text (in `texts`, from and to at 2i, 2i + 1). */
  private froms = new Float64Array(FIRST_RINGS * RING);
  private tos = new Float64Array(FIRST_RINGS * RING);
  private texts: RtcpEndpoint[] | null = null;
  private next = new Uint8Array(FIRST_RINGS);
  private used = new Uint8Array(FIRST_RINGS);
  /** Rings handed out so far. */
  private rings = 0;

  constructor(private readonly max: number) {}

  add(ssrc: number, mid: number, t: number, from: RtcpEndpoint, to: RtcpEndpoint): void {
    let r = this.ring.get(ssrc);
    if (r === undefined) {
      r = this.newRing();
      this.ring.set(ssrc, r);
    }
    const i = r * RING + this.next[r];
    this.mids[i] = mid;
    this.times[i] = t;
    if (typeof from === 'number' && typeof to === 'number') {
      this.froms[i] = from;
      this.tos[i] = to;
    } else {
      this.froms[i] = Number.NaN;
      this.tos[i] = Number.NaN;
      const texts = (this.texts ??= new Array<RtcpEndpoint>(2 * this.mids.length).fill(''));
      texts[2 * i] = from;
      texts[2 * i + 1] = to;
    }
    this.next[r] = (this.next[r] + 1) % RING;
    if (this.used[r] < RING) this.used[r]++;
  }

  /** Time of `ssrc`'s reference with this NTP value that travelled from `from` to `to` ('' = any path; earliest wins); -1 when none. */
  find(ssrc: number, mid: number, from: RtcpEndpoint, to: RtcpEndpoint): number {
    const r = this.ring.get(ssrc);
    if (r === undefined) return -1;
    let t = -1;
    for (let i = r * RING; i < r * RING + this.used[r]; i++) {
      if (this.mids[i] !== mid || this.otherPath(i, from, to)) continue;
      if (t < 0 || this.times[i] < t) t = this.times[i];
    }
    return t;
  }

  /** True when reference i and `from`/`to` are both known and differ. */
  private otherPath(i: number, from: RtcpEndpoint, to: RtcpEndpoint): boolean {
    if (from === '') return false;
    const f = this.froms[i];
    if (f === f) return f !== from || this.tos[i] !== to;
    const tf = this.texts![2 * i];
    return tf !== '' && (tf !== from || this.texts![2 * i + 1] !== to);
  }

  private newRing(): number {
    let r: number;
    if (this.ring.size >= this.max) {
      const oldest = this.ring.keys().next().value!;
      r = this.ring.get(oldest)!;
      this.ring.delete(oldest);
    } else {
      if (this.rings === this.next.length) this.grow();
      r = this.rings++;
    }
    this.next[r] = 0;
    this.used[r] = 0;
    return r;
  }

  private grow(): void {
    const n = this.next.length * 2;
    this.mids = grown(this.mids, new Uint32Array(n * RING));
    this.times = grown(this.times, new Float64Array(n * RING));
    this.froms = grown(this.froms, new Float64Array(n * RING));
    this.tos = grown(this.tos, new Float64Array(n * RING));
    this.next = grown(this.next, new Uint8Array(n));
    this.used = grown(this.used, new Uint8Array(n));
    if (this.texts !== null) this.texts = this.texts.concat(new Array<RtcpEndpoint>(this.texts.length).fill(''));
  }
}

/** `next` holding `old` at its start. */
function grown<T extends Uint8Array | Uint32Array | Float64Array>(old: T, next: T): T {
  next.set(old);
  return next;
}

/**
 * Passive round trip from RTCP seen at the probe. An SR (or XR RRTR) from SSRC S is remembered by
 * (S, NTP middle 32 bits) with its capture time; when a later RR report block (or XR DLRR item) about S
 * carries that value as LSR (LRR), the round trip between the probe and the reporting end is
 *   t(RR seen) - t(SR seen) - DLSR.
 * Both directions together (probe<->A plus probe<->B) make the A<->B round trip.
 * The same SR is often captured more than once (both legs of an SBC or media relay): give `observe` the
 * packet's endpoints ('ip:port') and an RR is matched only with the SR that travelled the reverse path
 * (what Wireshark does per conversation); without endpoints the earliest copy is used. The latest result
 * is kept per SSRC and reporting host: a media relay or SBC that keeps the SSRCs has the same SSRC on
 * both legs, each with its own receiver and round trip. Bounded memory: the last 8 references per SSRC,
 * at most `maxSsrcs` SSRCs in each table and latest results (oldest inserted evicted).
 */
export class RttTracker {
  private readonly srs: RefRings;
  private readonly rrtrs: RefRings;
  /** Latest round trip by latestKey(reporting host, source SSRC). */
  private readonly latest = new Map<string, number>();
  /** The samples of the last observe() (its count): reused objects, as many as the largest compound needed. */
  readonly samples: RttSample[] = [];
  private sampleCount = 0;
  /** The reporting host of the compound observe() reads. */
  private reporter: RtcpEndpoint = '';
  /** References not found (LSR pointing to an SR the probe did not see) and inconsistent samples. */
  unmatched = 0;
  inconsistent = 0;

  constructor(private readonly maxSsrcs = 65536) {
    this.srs = new RefRings(maxSsrcs);
    this.rrtrs = new RefRings(maxSsrcs);
  }

  /**
   * Feeds the compound `r` read last, seen at `arrivalMs` (capture time, ms); returns how many RTT samples
   * it completed, in `samples[0..n)` (objects reused by the next call: copy what is kept). `reporter`: the
   * host whose reports these are (the receiver of the streams they are about), the key of the latest
   * results with the SSRC ('' when not known).
   */
  observe(r: RtcpReader, arrivalMs: number, src: RtcpEndpoint = '', dst: RtcpEndpoint = '', reporter: RtcpEndpoint = ''): number {
    this.sampleCount = 0;
    this.reporter = reporter;
    // The referenced SR/RRTR travelled from this packet's destination to its source.
    const paths = src !== '' && dst !== '';
    const from = paths ? src : '';
    const to = paths ? dst : '';
    for (let i = 0; i < r.packets; i++) {
      const pt = r.pt[i];
      if (pt === 200 || pt === 201) {
        const reporter = r.u32(r.body[i]);
        for (let k = 0; k < r.count[i]; k++) {
          const o = r.reportBlock(i, k);
          const lsr = r.u32(o + 16);
          if (lsr === 0) continue;
          this.match(this.srs, r.u32(o), lsr, r.u32(o + 20), arrivalMs, reporter, 'RR', to, from);
        }
      } else if (pt === 207) {
        const reporter = r.u32(r.body[i]);
        for (let k = r.first[i]; k < r.first[i] + r.entries[i]; k++) {
          if (r.xrBt[k] !== 5) continue;
          for (let q = r.xrBody[k]; q < r.xrBody[k] + 4 * r.xrWords[k]; q += 12) {
            const lrr = r.u32(q + 4);
            if (lrr === 0) continue;
            this.match(this.rrtrs, r.u32(q), lrr, r.u32(q + 8), arrivalMs, reporter, 'DLRR', to, from);
          }
        }
      }
    }
    // References are recorded after matching so a compound never matches itself.
    for (let i = 0; i < r.packets; i++) {
      const pt = r.pt[i];
      const p = r.body[i];
      if (pt === 200) this.srs.add(r.u32(p), ntpMiddle32(r.u32(p + 4), r.u32(p + 8)), arrivalMs, from, to);
      else if (pt === 207) {
        for (let k = r.first[i]; k < r.first[i] + r.entries[i]; k++) {
          const b = r.xrBody[k];
          if (r.xrBt[k] === 4) this.rrtrs.add(r.u32(p), ntpMiddle32(r.u32(b), r.u32(b + 4)), arrivalMs, from, to);
        }
      }
    }
    return this.sampleCount;
  }

  /** Latest probe<->far-end round trip (ms) measured from `reporter`'s reports about `sourceSsrc`, or NaN. */
  latestRttMs(sourceSsrc: number, reporter: RtcpEndpoint = ''): number {
    const v = this.latest.get(latestKey(reporter, sourceSsrc));
    return v === undefined ? Number.NaN : v;
  }

  private match(m: RefRings, source: number, ref: number, delay: number, t: number, reporter: number, via: 'RR' | 'DLRR', from: RtcpEndpoint, to: RtcpEndpoint): void {
    const tRef = m.find(source, ref, from, to);
    if (tRef < 0) {
      this.unmatched++;
      return;
    }
    const rtt = t - tRef - (delay * 1000) / 65536;
    // DLSR has 15 us resolution: tolerate -1 ms of rounding/clock noise, refuse worse.
    if (rtt < -1) {
      this.inconsistent++;
      return;
    }
    const rttMs = rtt < 0 ? 0 : rtt;
    // Re-inserting moves the entry to the back, so the oldest-updated one is evicted first.
    const key = latestKey(this.reporter, source);
    this.latest.delete(key);
    if (this.latest.size >= this.maxSsrcs) {
      const oldest = this.latest.keys().next().value;
      if (oldest !== undefined) this.latest.delete(oldest);
    }
    this.latest.set(key, rttMs);
    const n = this.sampleCount++;
    const sample = n < this.samples.length ? this.samples[n] : (this.samples[n] = { reporterSsrc: 0, sourceSsrc: 0, rttMs: 0, via: 'RR', refTimeMs: 0 });
    sample.reporterSsrc = reporter;
    sample.sourceSsrc = source;
    sample.rttMs = rttMs;
    sample.via = via;
    sample.refTimeMs = tRef;
  }
}

/**
 * A host as the pipeline keys round-trip results (only equality matters), from its address words (IPv4
 * mapped as ::ffff:a.b.c.d): an IPv4 address as one number, IPv6 as text.
 */
export function hostKey(w0: number, w1: number, w2: number, w3: number): RtcpEndpoint {
  return w0 === 0 && w1 === 0 && w2 === 0xffff ? w3 >>> 0 : `${w0 >>> 0}.${w1 >>> 0}.${w2 >>> 0}.${w3 >>> 0}`;
}

/** The key of a latest round trip: the reporting host and the SSRC reported on. */
export function latestKey(reporter: RtcpEndpoint, ssrc: number): string {
  return `${reporter}/${ssrc >>> 0}`;
}
