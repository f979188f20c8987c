import { writeFileSync } from 'node:fs';

/** Writes classic pcap (microsecond or nanosecond magic, little- or big-endian) or pcapng files. */
export interface PcapRecord {
  /** Capture time in nanoseconds since the epoch, as a bigint so nanoseconds survive. */
  tsNs: bigint;
  data: Uint8Array;
  /** Wire length when the record is truncated (defaults to data.length). */
  wireLength?: number;
  /** pcapng only: interface index (see `interfaces`). */
  iface?: number;
}

export interface ClassicPcapOptions {
  linkType?: number;
  nanoseconds?: boolean;
  bigEndian?: boolean;
  snapLength?: number;
}

export function classicPcap(records: PcapRecord[], o: ClassicPcapOptions = {}): Buffer {
  const le = !o.bigEndian;
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  const u32 = (b: Buffer, off: number, v: number) => (le ? b.writeUInt32LE(v >>> 0, off) : b.writeUInt32BE(v >>> 0, off));
  const u16 = (b: Buffer, off: number, v: number) => (le ? b.writeUInt16LE(v, off) : b.writeUInt16BE(v, off));
  u32(gh, 0, o.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4);
  u16(gh, 4, 2);
  u16(gh, 6, 4);
  u32(gh, 16, o.snapLength ?? 262144);
  u32(gh, 20, o.linkType ?? 1);
  parts.push(gh);
  for (const r of records) {
    const h = Buffer.alloc(16);
    const sec = r.tsNs / 1_000_000_000n;
    const frac = r.tsNs % 1_000_000_000n;
    u32(h, 0, Number(sec));
    u32(h, 4, Number(o.nanoseconds ? frac : frac / 1000n));
    u32(h, 8, r.data.length);
    u32(h, 12, r.wireLength ?? r.data.length);
    parts.push(h, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

export interface PcapngInterface {
  linkType: number;
  /** if_tsresol option byte: 6 = microseconds (default), 9 = nanoseconds, 0x80|n = 2^-n seconds. */
  tsresol?: number;
  snapLength?: number;
}

/** pcapng (little-endian): SHB, one IDB per interface, EPB per record (SPB when `simple` is set). */
export function pcapng(records: PcapRecord[], interfaces: PcapngInterface[] = [{ linkType: 1 }], simple = false): Buffer {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const padded = Buffer.alloc((body.length + 3) & ~3);
    body.copy(padded);
    const total = 12 + padded.length;
    const b = Buffer.alloc(total);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(total, 4);
    padded.copy(b, 8);
    b.writeUInt32LE(total, total - 4);
    blocks.push(b);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8);
  block(0x0a0d0d0a, shb);
  for (const ifc of interfaces) {
    const opts: Buffer[] = [];
    if (ifc.tsresol !== undefined) {
      const o = Buffer.alloc(8);
      o.writeUInt16LE(9, 0);
      o.writeUInt16LE(1, 2);
      o[4] = ifc.tsresol;
      opts.push(o);
    }
    if (opts.length) opts.push(Buffer.alloc(4)); // opt_endofopt
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(ifc.linkType, 0);
    idb.writeUInt32LE(ifc.snapLength ?? 262144, 4);
    block(1, Buffer.concat([idb, ...opts]));
  }
  for (const r of records) {
    if (simple) {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(r.wireLength ?? r.data.length, 0);
      block(3, Buffer.concat([h, Buffer.from(r.data)]));
      continue;
    }
    const ifc = interfaces[r.iface ?? 0];
    const units = tsUnitsPerSecond(ifc.tsresol);
    const ts = (r.tsNs * units) / 1_000_000_000n;
    const h = Buffer.alloc(20);
    h.writeUInt32LE(r.iface ?? 0, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(r.data.length, 12);
    h.writeUInt32LE(r.wireLength ?? r.data.length, 16);
    block(6, Buffer.concat([h, Buffer.from(r.data)]));
  }
  return Buffer.concat(blocks);
}

function tsUnitsPerSecond(tsresol: number | undefined): bigint {
  if (tsresol === undefined) return 1_000_000n;
  if (tsresol & 0x80) return 1n << BigInt(tsresol & 0x7f);
  return 10n ** BigInt(tsresol);
}

export function writePcapFile(path: string, records: PcapRecord[], o?: ClassicPcapOptions): void {
  writeFileSync(path, classicPcap(records, o));
}
