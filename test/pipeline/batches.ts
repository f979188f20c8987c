import { allocateBatch, LinkType, type PacketBatch } from '../../src/capture/index.js';
import { generateScenario, type PcapRecord, type ScenarioOptions } from '../../src/gen/index.js';

/** A generated scenario as one in-memory batch (Ethernet frames, capture times from the generator). */
export function scenarioBatch(opts: ScenarioOptions): PacketBatch {
  return recordsBatch([...generateScenario(opts)].map((r) => ({ tsNs: r.tsNs, data: r.data.slice() })));
}

/** Capture records (Ethernet frames) as one in-memory batch. */
export function recordsBatch(records: readonly PcapRecord[]): PacketBatch {
  const b = allocateBatch(records.length, records.reduce((n, r) => n + r.data.length, 0));
  let off = 0;
  records.forEach((r, i) => {
    b.buf.set(r.data, off);
    b.offset[i] = off;
    b.caplen[i] = b.wirelen[i] = r.data.length;
    b.tsSec[i] = Number(r.tsNs / 1_000_000_000n);
    b.tsNsec[i] = Number(r.tsNs % 1_000_000_000n);
    b.linkType[i] = LinkType.EN10MB;
    off += r.data.length;
  });
  b.count = records.length;
  return b;
}

/**
 * `r` as the only packet of `batch`, in its buffer as a live ring reuses its memory: the bytes of the packet
 * before are overwritten first, so a packet kept past its turn must have been copied.
 */
export function putRecord(batch: PacketBatch, r: PcapRecord): void {
  batch.buf.fill(0xee);
  batch.buf.set(r.data, 0);
  batch.offset[0] = 0;
  batch.caplen[0] = batch.wirelen[0] = r.data.length;
  batch.tsSec[0] = Number(r.tsNs / 1_000_000_000n);
  batch.tsNsec[0] = Number(r.tsNs % 1_000_000_000n);
  batch.linkType[0] = LinkType.EN10MB;
  batch.count = 1;
}

/** A batch that stays valid after the reader reuses its buffers. */
export function copyBatch(b: PacketBatch): PacketBatch {
  const c = allocateBatch(b.count, b.buf.length);
  c.buf.set(b.buf);
  for (const k of ['offset', 'caplen', 'wirelen', 'tsSec', 'tsNsec', 'linkType'] as const) c[k].set(b[k].subarray(0, b.count));
  c.count = b.count;
  return c;
}
