import type { RtcpCompound, RtcpReportBlock, XrVoipMetrics } from './types.js';

/**
 * HOMER's RTCP JSON (HEP type 5), the shape rtpengine, captagent and heplify send (REFERENCE.md 2):
 * raw wire units; `ntp_timestamp_usec` carries the NTP FRACTION (the historical name is wrong, HOMER
 * expects it that way). One object per compound packet: sender information from the SR (zeros when
 * the compound has none, so homer-ui does not chart it), report blocks of the first SR/RR (whose sender
 * is `ssrc`; without one, the XR's or, in reduced-size RTCP, the feedback packet's sender), the first
 * XR VoIP-metrics block flattened into `report_blocks_xr` (the heplify-server prometheus paths), the
 * first SDES chunk's SSRC as `sdes_ssrc`. Extra keys (sdes, bye, xr_*) carry the rest; receivers ignore
 * keys they do not know.
 */
export interface HomerRtcpJson {
  sender_information: { ntp_timestamp_sec: number; ntp_timestamp_usec: number; octets: number; rtp_timestamp: number; packets: number };
  ssrc: number;
  type: number;
  report_count: number;
  report_blocks: Array<{ source_ssrc: number; highest_seq_no: number; fraction_lost: number; ia_jitter: number; packets_lost: number; lsr: number; dlsr: number }>;
  report_blocks_xr?: {
    type: number; id: number; fraction_lost: number; fraction_discard: number; burst_density: number; gap_density: number;
    burst_duration: number; gap_duration: number; round_trip_delay: number; end_system_delay: number;
  };
  sdes_ssrc: number;
  sdes?: Array<{ ssrc: number; cname: string | null; items: Array<{ type: number; text: string }> }>;
  bye?: { ssrcs: number[]; reason: string | null };
  xr_voip_metrics?: Omit<XrVoipMetrics, 'kind' | 'bt'>;
  xr_rrtr?: { ssrc: number; ntp_timestamp_sec: number; ntp_timestamp_usec: number };
  xr_dlrr?: Array<{ ssrc: number; lrr: number; dlrr: number }>;
}

function block(r: RtcpReportBlock) {
  return {
    source_ssrc: r.ssrc, highest_seq_no: r.extHighestSeq, fraction_lost: r.fractionLost,
    ia_jitter: r.jitter, packets_lost: r.cumulativeLost, lsr: r.lsr, dlsr: r.dlsr,
  };
}

export function rtcpToHomerObject(c: RtcpCompound): HomerRtcpJson {
  const out: HomerRtcpJson = {
    sender_information: { ntp_timestamp_sec: 0, ntp_timestamp_usec: 0, octets: 0, rtp_timestamp: 0, packets: 0 },
    ssrc: 0, type: c.packets.length ? c.packets[0].pt : 0, report_count: 0, report_blocks: [], sdes_ssrc: 0,
  };
  let haveReport = false;
  for (const p of c.packets) {
    switch (p.kind) {
      case 'SR':
        if (haveReport) break;
        haveReport = true;
        out.sender_information = { ntp_timestamp_sec: p.ntpSec, ntp_timestamp_usec: p.ntpFrac, octets: p.octets, rtp_timestamp: p.rtpTs, packets: p.packets };
        out.ssrc = p.ssrc;
        out.type = 200;
        out.report_count = p.reports.length;
        out.report_blocks = p.reports.map(block);
        break;
      case 'RR':
        if (haveReport) break;
        haveReport = true;
        out.ssrc = p.ssrc;
        out.type = 201;
        out.report_count = p.reports.length;
        out.report_blocks = p.reports.map(block);
        break;
      case 'SDES':
        if (!out.sdes) {
          out.sdes = p.chunks.map((ch) => ({ ssrc: ch.ssrc, cname: ch.cname, items: ch.items.map((i) => ({ type: i.type, text: i.text })) }));
          if (p.chunks.length) out.sdes_ssrc = p.chunks[0].ssrc;
        }
        break;
      case 'BYE':
        if (!out.bye) out.bye = { ssrcs: p.ssrcs, reason: p.reason };
        break;
      case 'XR':
        if (!haveReport && out.ssrc === 0) out.ssrc = p.ssrc;
        for (const b of p.blocks) {
          if (b.kind === 'VOIP_METRICS' && !out.report_blocks_xr) {
            const { kind: _k, bt: _b, ...fields } = b;
            out.xr_voip_metrics = fields;
            out.report_blocks_xr = {
              type: 7, id: b.ssrc, fraction_lost: b.lossRate, fraction_discard: b.discardRate,
              burst_density: b.burstDensity, gap_density: b.gapDensity, burst_duration: b.burstDuration,
              gap_duration: b.gapDuration, round_trip_delay: b.roundTripDelay, end_system_delay: b.endSystemDelay,
            };
          } else if (b.kind === 'RRTR' && !out.xr_rrtr) {
            out.xr_rrtr = { ssrc: p.ssrc, ntp_timestamp_sec: b.ntpSec, ntp_timestamp_usec: b.ntpFrac };
          } else if (b.kind === 'DLRR' && !out.xr_dlrr) {
            out.xr_dlrr = b.items.map((i) => ({ ssrc: i.ssrc, lrr: i.lrr, dlrr: i.dlrr }));
          }
        }
        break;
      default:
        // Reduced-size RTCP (RFC 5506): feedback without an SR/RR names its sender here.
        if (!haveReport && out.ssrc === 0 && p.ssrc !== undefined) out.ssrc = p.ssrc;
        break;
    }
  }
  return out;
}

/**
 * The JSON text. JSON.stringify escapes control characters and (Node >= 12) lone surrogates, and SDES
 * text was decoded with replacement characters, so the result is always valid UTF-8 JSON.
 */
export function rtcpToHomerJson(c: RtcpCompound): string {
  return JSON.stringify(rtcpToHomerObject(c));
}
