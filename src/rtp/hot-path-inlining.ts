/**
 * V8's inlining budget, raised for the per-packet path (imported by engine.ts, so the probe, its media
 * workers, the benches and the tests all run with it).
 *
 * TurboFan inlines a function only when its bytecode is at most 460 bytes, 920 in total per compiled
 * function and never over 4600. The packet path is PacketDecoder.decodeFrame (~660 bytes), RtpEngine.onRtp (~860) and
 * nextPacket (~2460), so every packet paid two or three real calls: arguments passed as tagged values,
 * the typed arrays' base and length reloaded, registers spilled at each boundary. With this budget the
 * capture loop compiles them into one function, as the C reference's compiler inlines next_packet into
 * on_rtp (native-bench), helpers included (the divisor, cold-part bases, the loss model, the RFC 3550
 * sequence checks: with only the single-function limit raised, the 4600 total ran out before them).
 * Measured on the bench loop, alternating runs: V8 defaults ~89-93 ns/packet, single limit raised
 * ~86-89, all three ~82-88. The limits leave room for those functions to grow by half.
 *
 * Flags are process-wide and read when a function gets optimized, long after this module loads.
 * RTPPROBE_V8_DEFAULT_INLINING=1 keeps V8's defaults (to measure the difference). The replay command
 * puts the defaults back (restoreDefaultInlining).
 */
import { setFlagsFromString } from 'node:v8';

export const HOT_PATH_V8_FLAGS = [
  '--max-inlined-bytecode-size=4000',
  '--max-inlined-bytecode-size-cumulative=12000',
  '--max-inlined-bytecode-size-absolute=12000',
] as const;

/** V8's own limits (Node 20, V8 11.3). */
const V8_DEFAULT_INLINING_FLAGS = [
  '--max-inlined-bytecode-size=460',
  '--max-inlined-bytecode-size-cumulative=920',
  '--max-inlined-bytecode-size-absolute=4600',
] as const;

export const hotPathInlining = process.env.RTPPROBE_V8_DEFAULT_INLINING !== '1';
if (hotPathInlining) for (const flag of HOT_PATH_V8_FLAGS) setFlagsFromString(flag);

/**
 * V8's own limits back, for a short job (replay), before its packet path is optimized: with the raised
 * limits every deoptimisation of the per-packet code (a rare branch taken for the first time) recompiles
 * the whole capture loop with everything inlined in it (~0.1 s of compiler CPU each). A 2.19 GB replay
 * took 2.1-2.3 s of CPU with the raised limits against 1.7 s with these (alternating runs), far more than
 * the ~3 ns per packet the larger functions save. A live probe runs for days and keeps the raised ones.
 */
export function restoreDefaultInlining(): void {
  if (hotPathInlining) for (const flag of V8_DEFAULT_INLINING_FLAGS) setFlagsFromString(flag);
}
