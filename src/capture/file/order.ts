/**
 * Capture files are analysed one after the other, in the order given. Files given out of time order
 * (tcpdump -C names its files f, f1, ..., f10, and a shell glob lists f, f1, f10, f11, f2) send streams
 * that span them back in time: each is split and looks reordered and lost, with nothing saying why.
 */

/** An input that starts this much before the previous one ended is out of order (not timestamp noise). */
const OUT_OF_ORDER_MS = 1000;

export class InputTimeline {
  private prevName = '';
  private prevLastMs = Number.NaN;

  /**
   * Notes the capture times of an input's first and last packets (NaN when it had none); returns a
   * warning when it starts more than a second before the previous input's last packet.
   */
  add(name: string, firstMs: number, lastMs: number): string | undefined {
    if (!(firstMs === firstMs)) return undefined;
    const prevName = this.prevName;
    const prevLastMs = this.prevLastMs;
    this.prevName = name;
    this.prevLastMs = lastMs;
    if (!(prevLastMs - firstMs > OUT_OF_ORDER_MS)) return undefined;
    return (
      `${name}: its first packet (${iso(firstMs)}) is ${((prevLastMs - firstMs) / 1000).toFixed(1)} s before the last one of ${prevName} (${iso(prevLastMs)}): ` +
      'inputs are analysed in the order given, so streams that span them are split and look reordered and lost; ' +
      'give the files in time order (ls -v FILES, or mergecap -w merged.pcap FILES)'
    );
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
