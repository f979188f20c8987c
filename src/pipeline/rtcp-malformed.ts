import { RateLimitedLog, type OutputLog } from '../outbound/index.js';

/**
 * An RTCP compound that does not parse to its last byte is not used (counted in rtcp_malformed): one
 * warning per 10 s at most says why and where, with how many were left unsaid. SRTCP to an address no SDP
 * names as secure lands here too, and says so by its reason (a length past the datagram, a version not 2).
 */
export function rtcpMalformedReporter(log: OutputLog): (error: string, src: string, dst: string) => void {
  const limited = new RateLimitedLog(log);
  return (error, src, dst) => limited.warn('rtcp-malformed', { error, src, dst }, 'RTCP compound not used: it does not parse to its last byte (damaged, or SRTCP without an SDP naming it)');
}
