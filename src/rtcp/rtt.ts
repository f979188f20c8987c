import type { RtcpCompound } from './types.js';

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

const RING = 8;

/**
 * An SSRC's last RING references. Plain arrays filled as they come: one ring is made per SR sender (about
 * one per stream), and typed arrays cost far more to create than these few entries cost to store. The
 * path a reference travelled is kept as its two endpoints ('' when not known), compared as they are:
 * joining them into one text per packet would cost a string, and its comparison a flattening.
 */
class RefRing {
  readonly mids: number[] = [];
  readonly times: number[] = [];
  readonly froms: string[] = [];
  readonly tos: string[] = [];
  next = 0;
  used = 0;
  add(mid: number, t: number, from: string, to: string): void {
    this.mids[this.next] = mid;
    this.times[this.next] = t;
    this.froms[this.next] = from;
    this.tos[this.next] = to;
    this.next = (this.next + 1) % RING;
    if (this.used < RING) this.used++;
  }
  /** Time of the reference with this NTP value that travelled from `from` to `to` ('' = any path; earliest wins). */
  find(mid: number, from: string, to: string): number {
    let t = -1;
    for (let i = 0; i < this.used; i++) {
      if (this.mids[i] !== mid) continue;
      if (from !== '' && this.froms[i] !== '' && (this.froms[i] !== from || this.tos[i] !== to)) continue;
      if (t < 0 || this.times[i] < t) t = this.times[i];
    }
    return t;
  }
}

/**
 * Passive round trip from RTCP seen at the probe. An SR (or XR RRTR) from SSRC S is remembered by
 * (S, NTP middle 32 bits) with its capture time; when a later RR report block (or XR DLRR item) about S
 * carries that value as LSR (LRR), the round trip between the probe and the reporting end is
 *   t(RR seen) - t(SR seen) - DLSR.
 * Both directions together (probe<->A plus probe<->B) make the A<->B round trip.
 * The same SR is often captured more than once (both legs of an SBC or media relay): give `observe` the
 * packet's endpoints ('ip:port') and an RR is matched only with the SR that travelled the reverse path
 * (what Wireshark does per conversation); without endpoints the earliest copy is used. Bounded memory: the
 * last 8 references per SSRC, at most `maxSsrcs` SSRCs in each table, the latest results included
 * (oldest inserted evicted).
 */
export class RttTracker {
  private readonly srs = new Map<number, RefRing>();
  private readonly rrtrs = new Map<number, RefRing>();
  private readonly latest = new Map<number, number>();
  /** References not found (LSR pointing to an SR the probe did not see) and inconsistent samples. */
  unmatched = 0;
  inconsistent = 0;

  constructor(private readonly maxSsrcs = 65536) {}

  /** Feeds one parsed compound seen at `arrivalMs` (capture time, ms); returns the RTT samples it completed. */
  observe(c: RtcpCompound, arrivalMs: number, src = '', dst = ''): RttSample[] {
    const out: RttSample[] = [];
    // The referenced SR/RRTR travelled from this packet's destination to its source.
    const paths = src !== '' && dst !== '';
    const from = paths ? src : '';
    const to = paths ? dst : '';
    for (const p of c.packets) {
      if (p.kind === 'SR' || p.kind === 'RR') {
        for (const rb of p.reports) {
          if (rb.lsr === 0) continue;
          this.match(this.srs, rb.ssrc, rb.lsr, rb.dlsr, arrivalMs, p.ssrc, 'RR', to, from, out);
        }
      } else if (p.kind === 'XR') {
        for (const b of p.blocks) {
          if (b.kind === 'DLRR') {
            for (const it of b.items) {
              if (it.lrr === 0) continue;
              this.match(this.rrtrs, it.ssrc, it.lrr, it.dlrr, arrivalMs, p.ssrc, 'DLRR', to, from, out);
            }
          }
        }
      }
    }
    // References are recorded after matching so a compound never matches itself.
    for (const p of c.packets) {
      if (p.kind === 'SR') this.remember(this.srs, p.ssrc, ntpMiddle32(p.ntpSec, p.ntpFrac), arrivalMs, from, to);
      else if (p.kind === 'XR') {
        for (const b of p.blocks) if (b.kind === 'RRTR') this.remember(this.rrtrs, p.ssrc, ntpMiddle32(b.ntpSec, b.ntpFrac), arrivalMs, from, to);
      }
    }
    return out;
  }

  /** Latest probe<->far-end round trip (ms) measured from reports about `sourceSsrc`, or NaN. */
  latestRttMs(sourceSsrc: number): number {
    const v = this.latest.get(sourceSsrc >>> 0);
    return v === undefined ? Number.NaN : v;
  }

  private remember(m: Map<number, RefRing>, ssrc: number, mid: number, t: number, from: string, to: string): void {
    let r = m.get(ssrc);
    if (!r) {
      if (m.size >= this.maxSsrcs) {
        const oldest = m.keys().next().value;
        if (oldest !== undefined) m.delete(oldest);
      }
      r = new RefRing();
      m.set(ssrc, r);
    }
    r.add(mid, t, from, to);
  }

  private match(m: Map<number, RefRing>, source: number, ref: number, delay: number, t: number, reporter: number, via: 'RR' | 'DLRR', from: string, to: string, out: RttSample[]): void {
    const ring = m.get(source);
    const tRef = ring ? ring.find(ref, from, to) : -1;
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
    // Re-inserting moves the SSRC to the back, so the oldest-updated one is evicted first.
    this.latest.delete(source);
    if (this.latest.size >= this.maxSsrcs) {
      const oldest = this.latest.keys().next().value;
      if (oldest !== undefined) this.latest.delete(oldest);
    }
    this.latest.set(source, rttMs);
    out.push({ reporterSsrc: reporter, sourceSsrc: source, rttMs, via, refTimeMs: tRef });
  }
}
