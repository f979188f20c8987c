/**
 * Process exit codes of the rtpprobe command. Stable: scripts and systemd (RestartPreventExitStatus)
 * depend on them.
 */
export const ExitCode = {
  /** Finished normally (replay done, or stopped by SIGTERM/SIGINT within the shutdown deadline). */
  OK: 0,
  /** Runtime failure (including a shutdown that overran process.shutdown_deadline_ms). */
  RUNTIME: 1,
  /** Bad command line or invalid configuration. */
  USAGE: 2,
  /** The capture could not be opened: missing permission/capability, unknown interface (a BPF filter libpcap refuses is USAGE, found before). */
  CAPTURE_OPEN: 3,
  /**
   * An input capture is missing, unreadable, not a capture (ends or is damaged inside its file header,
   * compressed or not), or compressed in a way this runtime cannot read.
   */
  INPUT_FILE: 4,
  /**
   * replay only: the analysis finished but not every report reached its destinations (a collector was
   * down or slower than the reports for longer than its queue covers, or the JSON-lines file could not be
   * written); the log names each destination with its sent/failed/dropped counts. Also when the stream
   * table could not be written (a full disk), which one line says.
   */
  UNDELIVERED: 5,
  /**
   * An input capture was cut short (a killed tcpdump) or is damaged after its file header: a one-line warning names
   * the file and byte; the reports and the table cover every packet before that point.
   */
  INPUT_CUT_SHORT: 6,
  /** A second SIGINT/SIGTERM forced the exit before the graceful stop finished (128 + SIGINT). */
  FORCED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
