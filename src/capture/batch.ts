/**
 * The unit every packet source delivers: one byte buffer plus parallel typed arrays describing the
 * packets inside it. A batch object and its arrays are reused by the source: a consumer must finish
 * with a batch (or copy what it keeps) before asking for the next one. Nothing here is allocated per packet.
 */
export interface PacketBatch {
  /** Bytes of all packets of the batch, back to back (or at arbitrary offsets inside a file chunk). */
  buf: Uint8Array;
  /** Number of valid entries in the arrays below. */
  count: number;
  /** Start of packet i inside buf. */
  offset: Uint32Array;
  /** Captured length of packet i (bytes present in buf). */
  caplen: Uint32Array;
  /** Length of packet i on the wire (>= caplen when truncated by the snap length). */
  wirelen: Uint32Array;
  /** Timestamp of packet i: whole seconds since the Unix epoch (an integer held in a float64). */
  tsSec: Float64Array;
  /** Timestamp of packet i: nanoseconds within the second, 0..999,999,999. */
  tsNsec: Uint32Array;
  /** Link-layer type (pcap LINKTYPE_*) of packet i; pcapng files may mix interfaces. */
  linkType: Uint16Array;
}

/** Counters every source keeps; live sources fill the drop fields from the kernel. */
export interface CaptureStats {
  /** Packets delivered to the probe. */
  received: number;
  /** Dropped by the kernel because the probe was too slow (ring full). */
  droppedKernel: number;
  /** Dropped by the interface / driver. */
  droppedInterface: number;
}

export interface PacketSource {
  /** Human-readable name: the file path or the interface name. */
  readonly name: string;
  /** True when timestamps come from the host clock (cap backend), not the kernel or the file. */
  readonly hostTimestamps: boolean;
  /**
   * Batches until the source ends (end of file, or close() on a live source). The yielded batch is
   * valid until the next iteration step. A corrupt or truncated file throws a CaptureFileError after
   * every complete packet before the damage has been yielded.
   */
  batches(): AsyncIterable<PacketBatch>;
  stats(): CaptureStats;
  close(): Promise<void>;
}

/** Allocate a batch able to describe `capacity` packets over a buffer of `bytes` bytes. */
export function allocateBatch(capacity: number, bytes: number): PacketBatch {
  return {
    buf: new Uint8Array(bytes),
    count: 0,
    offset: new Uint32Array(capacity),
    caplen: new Uint32Array(capacity),
    wirelen: new Uint32Array(capacity),
    tsSec: new Float64Array(capacity),
    tsNsec: new Uint32Array(capacity),
    linkType: new Uint16Array(capacity),
  };
}

/** pcap link types the decoder understands. */
export const LinkType = {
  NULL: 0,
  EN10MB: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
  /** Alternative numbers some writers use for raw IPv4 / IPv6 (DLT_RAW values 12 / 14, LINKTYPE 228/229). */
  IPV4: 228,
  IPV6: 229,
} as const;
