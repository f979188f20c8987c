/**
 * pcapng timestamps are 64-bit counts of 10^-n or 2^-n seconds split into two u32 words. They are turned
 * into (seconds, nanoseconds) exactly with float64 arithmetic on 16-bit limbs, so no BigInt (and no
 * allocation) is needed for the usual resolutions; exotic ones (finer than 1 ns) take a BigInt path.
 */
export class TimestampConverter {
  /** Results of the last conversion. */
  sec = 0;
  nsec = 0;

  /**
   * Converts `hi:lo` ticks; `resol` is the raw if_tsresol byte (bit 7 set: power of two) and
   * `offsetSec` the interface's if_tsoffset.
   */
  convert(hi: number, lo: number, resol: number, offsetSec: number): void {
    if ((resol & 0x80) === 0) {
      if (resol <= 9) {
        const d = POW10[resol];
        // Long division of hi*2^32 + lo by d < 2^37, 16 bits at a time, every product below 2^53.
        const qh = Math.floor(hi / d);
        const rh = hi - qh * d;
        const x = rh * 65536 + (lo >>> 16);
        const q1 = Math.floor(x / d);
        const r1 = x - q1 * d;
        const y = r1 * 65536 + (lo & 0xffff);
        const q2 = Math.floor(y / d);
        const r2 = y - q2 * d;
        this.sec = qh * 4294967296 + q1 * 65536 + q2 + offsetSec;
        this.nsec = r2 * POW10[9 - resol];
        return;
      }
      this.convertBig(hi, lo, 10n ** BigInt(resol), offsetSec);
      return;
    }
    const n = resol & 0x7f;
    if (n <= 32) {
      let frac: number;
      if (n === 32) {
        this.sec = hi + offsetSec;
        frac = lo;
      } else {
        const unit = 2 ** n;
        this.sec = hi * 2 ** (32 - n) + Math.floor(lo / unit) + offsetSec;
        frac = lo % unit;
      }
      // 1e9 / 2^n = 1953125 * 2^(9-n) is exact, and frac * 1953125 < 2^53: the product is exact.
      this.nsec = Math.floor(frac * (1e9 / 2 ** n));
      return;
    }
    this.convertBig(hi, lo, 1n << BigInt(n), offsetSec);
  }

  private convertBig(hi: number, lo: number, unitsPerSec: bigint, offsetSec: number): void {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    this.sec = Number(ticks / unitsPerSec) + offsetSec;
    this.nsec = Number(((ticks % unitsPerSec) * 1_000_000_000n) / unitsPerSec);
  }
}

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
