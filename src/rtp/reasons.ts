/** Why a stream ended; passed to onStreamEnd exactly once per stream. */
export const EndReason = {
  timeout: 1,
  rtcpBye: 2,
  sipBye: 3,
  evicted: 4,
  shutdown: 5,
  ssrcChange: 6,
} as const;
export type EndReason = (typeof EndReason)[keyof typeof EndReason];

export function endReasonName(r: number): string {
  switch (r) {
    case EndReason.timeout: return 'timeout';
    case EndReason.rtcpBye: return 'rtcpBye';
    case EndReason.sipBye: return 'sipBye';
    case EndReason.evicted: return 'evicted';
    case EndReason.shutdown: return 'shutdown';
    case EndReason.ssrcChange: return 'ssrcChange';
    default: return 'unknown';
  }
}
