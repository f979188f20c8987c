/**
 * V8's inlining budget, raised for live capture's per-packet path. Called by the live mode when it starts
 * (src/probe.ts runLive), before any packet code is optimized; nothing else sets V8 flags. Flags are
 * process-wide, so media worker threads started afterwards get the same.
 *
 * TurboFan inlines a function only when its bytecode is at most 460 bytes, 920 in total per compiled
 * function and never over 4600. The packet path is PacketDecoder.decode (~660 bytes), RtpEngine.onRtp
 * (~940, plus ~880 of stream lookup and sequence.ts that it inlines) and nextPacket (~1,540 with the timing
 * update written out in it, plus ~580 of the jitter buffers' common packet that it inlines), so with V8's
 * limits every packet pays real calls (arguments as tagged values, typed arrays' base and length
 * reloaded, registers spilled). With this budget the batch loop compiles them into one function, as the
 * C reference's compiler inlines next_packet into on_rtp (native-bench). What it pays on the live path,
 * and what it costs replay, is measured by native-bench (`native.js`: live path with and without, replay
 * path with and without; figures in native-bench/README.md). Replay keeps V8's defaults: with everything
 * inlined, each first-time deoptimisation recompiles the whole capture loop, more compiler time than a
 * replay of seconds gains.
 */
import { setFlagsFromString } from 'node:v8';

export const LIVE_INLINING_V8_FLAGS = [
  '--max-inlined-bytecode-size=4000',
  '--max-inlined-bytecode-size-cumulative=12000',
  '--max-inlined-bytecode-size-absolute=12000',
] as const;

export function raiseLiveInlining(): void {
  for (const flag of LIVE_INLINING_V8_FLAGS) setFlagsFromString(flag);
}
