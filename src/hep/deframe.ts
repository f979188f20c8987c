/**
 * Splits a HEP-over-TCP/TLS byte stream into packets using only the total-length field, the framing HEP
 * receivers use. A stream that does not start a frame with "HEP3" and a length >= 6 cannot be resynced
 * (there is no delimiter), so the deframer latches into an error state and drops everything after it.
 */
export class HepStreamDeframer {
  private pending: Buffer = Buffer.alloc(0);
  /** Set once the stream is corrupt; the caller should close the connection. */
  error: string | undefined;
  frames = 0;

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.error !== undefined) return out;
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let o = 0;
    while (buf.length - o >= 6) {
      if (buf[o] !== 0x48 || buf[o + 1] !== 0x45 || buf[o + 2] !== 0x50 || buf[o + 3] !== 0x33) {
        this.error = `no HEP3 magic at stream offset ${o}`;
        this.pending = Buffer.alloc(0);
        return out;
      }
      const len = buf.readUInt16BE(o + 4);
      if (len < 6) {
        this.error = `HEP3 total length ${len} < 6`;
        this.pending = Buffer.alloc(0);
        return out;
      }
      if (buf.length - o < len) break;
      out.push(Buffer.from(buf.subarray(o, o + len)));
      this.frames++;
      o += len;
    }
    this.pending = o === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(o));
    return out;
  }

  /** Bytes of an incomplete frame still waiting for more data. */
  get buffered(): number {
    return this.pending.length;
  }
}
