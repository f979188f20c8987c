import type { RtcpPacket } from '../../src/rtcp/index.js';

/** Flattens the parser's output into the same field lists tshark prints, in packet order. */
export function ourFields(pkts: RtcpPacket[]): Record<string, string[]> {
  const f: Record<string, string[]> = {};
  const add = (k: string, v: number | string) => (f[k] ??= []).push(String(v));
  // tshark's field names: SDES chunk, BYE, APP, DLRR and VoIP-metrics SSRCs are all rtcp.ssrc.identifier.
  for (const p of pkts) {
    add('rtcp.pt', p.pt);
    if (p.kind === 'SR' || p.kind === 'RR') {
      add('rtcp.senderssrc', p.ssrc);
      if (p.kind === 'SR') {
        add('rtcp.timestamp.ntp.msw', p.ntpSec);
        add('rtcp.timestamp.ntp.lsw', p.ntpFrac);
        add('rtcp.timestamp.rtp', p.rtpTs);
        add('rtcp.sender.packetcount', p.packets);
        add('rtcp.sender.octetcount', p.octets);
      }
      for (const r of p.reports) {
        add('rtcp.ssrc.identifier', r.ssrc);
        add('rtcp.ssrc.fraction', r.fractionLost);
        add('rtcp.ssrc.cum_nr', r.cumulativeLost);
        add('rtcp.ssrc.ext_high', r.extHighestSeq);
        add('rtcp.ssrc.jitter', r.jitter);
        add('rtcp.ssrc.lsr', r.lsr);
        add('rtcp.ssrc.dlsr', r.dlsr);
      }
    } else if (p.kind === 'SDES') {
      for (const c of p.chunks) {
        add('rtcp.ssrc.identifier', c.ssrc);
        for (const i of c.items) add('rtcp.sdes.text', i.text);
      }
    } else if (p.kind === 'BYE') {
      for (const x of p.ssrcs) add('rtcp.ssrc.identifier', x);
      if (p.reason !== null) add('rtcp.sdes.text', p.reason); // tshark 4.0 files the BYE reason under sdes.text
    } else if (p.kind === 'APP') {
      add('rtcp.ssrc.identifier', p.ssrc);
      add('rtcp.app.name', p.name);
    } else if (p.kind === 'XR') {
      add('rtcp.senderssrc', p.ssrc);
      for (const b of p.blocks) {
        add('rtcp.xr.bt', b.bt);
        if (b.kind === 'DLRR') for (const i of b.items) { add('rtcp.ssrc.identifier', i.ssrc); add('rtcp.xr.lrr', i.lrr); add('rtcp.xr.dlrr', i.dlrr); }
        if (b.kind === 'VOIP_METRICS') {
          add('rtcp.ssrc.identifier', b.ssrc);
          add('rtcp.ssrc.fraction', b.lossRate);
          add('rtcp.ssrc.discarded', b.discardRate);
          add('rtcp.xr.voipmetrics.burstdensity', b.burstDensity);
          add('rtcp.xr.voipmetrics.gapdensity', b.gapDensity);
          add('rtcp.xr.voipmetrics.burstduration', b.burstDuration);
          add('rtcp.xr.voipmetrics.gapduration', b.gapDuration);
          add('rtcp.xr.voipmetrics.rtdelay', b.roundTripDelay);
          add('rtcp.xr.voipmetrics.esdelay', b.endSystemDelay);
          add('rtcp.xr.voipmetrics.signallevel', b.signalLevel);
          add('rtcp.xr.voipmetrics.noiselevel', b.noiseLevel);
          add('rtcp.xr.voipmetrics.gmin', b.gmin);
          add('rtcp.xr.voipmetrics.rfactor', b.rFactor);
          add('rtcp.xr.voipmetrics.rerl', b.rerl);
          add('rtcp.xr.voipmetrics.extrfactor', b.extRFactor);
          add('rtcp.xr.voipmetrics.moslq', String(b.mosLq / 10));
          add('rtcp.xr.voipmetrics.moscq', String(b.mosCq / 10));
          add('rtcp.xr.voipmetrics.plc', b.plc);
          add('rtcp.xr.voipmetrics.jba', b.jba);
          add('rtcp.xr.voipmetrics.jbrate', b.jbRate);
          add('rtcp.xr.voipmetrics.jbnominal', b.jbNominal);
          add('rtcp.xr.voipmetrics.jbmax', b.jbMaximum);
          add('rtcp.xr.voipmetrics.jbabsmax', b.jbAbsMax);
        }
      }
    }
  }
  return f;
}

