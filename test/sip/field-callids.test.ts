/**
 * Every RTP stream of the field captures (../shared/captures/field: other people's networks) is reported
 * under the Call-ID tshark gives it through rtp.setup-frame, as the capture's *.tshark.txt reference
 * lists it. A stream tshark set up only by non-SIP signalling (MGCP/SCCP: setup frames without a
 * Call-ID) or by nothing carries the synthetic id; the probe sees SIP only.
 *
 * Where tshark's setup frame changes within one stream (B2BUA legs re-offering the same addresses, a
 * gateway's MGCP re-setting it), the stream's Call-ID is that of its FIRST packet in tshark: the probe
 * attaches a stream to a call when the stream starts (README: "Call-ID of a stream").
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticCallId } from '../../src/report/correlation.js';
import { finals, replayReports, reportKey, type E2eReport } from '../e2e/helpers.js';
import { fieldConfig } from './field.js';
import { CAPTURES } from './helpers.js';
import { tshark } from './truth.js';

const FIELD = join(CAPTURES, 'field');

interface RefStream {
  key: string;
  /** Call-IDs of the SIP frames that set the stream up (setup frames without a Call-ID left out). */
  callIds: Set<string>;
}

/** The "RTP stream -> SIP Call-ID" table of a *.tshark.txt reference, by stream (5-tuple + SSRC). */
function referenceStreams(name: string): Map<string, RefStream> {
  const text = readFileSync(join(FIELD, `${name}.tshark.txt`), 'utf8');
  const section = text.split('## RTP stream -> SIP Call-ID')[1]?.split('\n## ')[0] ?? '';
  const out = new Map<string, RefStream>();
  for (const line of section.split('\n')) {
    const f = line.trim().split(/\s+/);
    // count ssrc src sport dst dport pt setup-frame setup-method call-id; ICMP-quoted copies ("a,b") and
    // packets tshark did not take as RTP (no SSRC) are not streams.
    if (f.length < 10 || !/^0x[0-9a-f]+$/i.test(f[1]) || f[2].includes(',')) continue;
    const key = `${f[2]}:${f[3]}>${f[4]}:${f[5]}#${Number.parseInt(f[1], 16).toString(16)}`;
    const s = out.get(key) ?? { key, callIds: new Set<string>() };
    if (f[9] !== '-') s.callIds.add(f[9]);
    out.set(key, s);
  }
  return out;
}

/** tshark's Call-ID for the stream's first packet (rtp.setup-frame -> sip.Call-ID), '' when none. */
function firstPacketCallIds(file: string): Map<string, string> {
  const sip = new Map(tshark(file, ['-Y', 'sip', '-T', 'fields', '-e', 'frame.number', '-e', 'sip.Call-ID']).map((f) => [f[0], f[1]]));
  const rows = tshark(file, ['-Y', 'rtp && !icmp && !icmpv6', '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'udp.dstport', '-e', 'rtp.ssrc', '-e', 'rtp.setup-frame']);
  const out = new Map<string, string>();
  for (const [s4, s6, sp, d4, d6, dp, ssrc, setup] of rows) {
    const key = `${s4 || s6}:${sp}>${d4 || d6}:${dp}#${Number.parseInt(ssrc, 16).toString(16)}`;
    if (!out.has(key)) out.set(key, sip.get(setup) ?? '');
  }
  return out;
}

const captures = readdirSync(FIELD).filter((f) => /\.pcap(ng)?$/.test(f));

describe('field captures: each stream under the Call-ID tshark gives it', () => {
  it('has the field captures', () => expect(captures.length).toBeGreaterThanOrEqual(15));

  for (const file of captures) {
    const name = file.replace(/\.pcap(ng)?$/, '');
    it(name, async () => {
      const ref = referenceStreams(name);
      // tshark's per-packet view only when some stream has several setups with different Call-IDs.
      const first = [...ref.values()].some((s) => s.callIds.size > 1) ? firstPacketCallIds(join(FIELD, file)) : new Map<string, string>();
      const reports = finals(await replayReports(join(FIELD, file), fieldConfig(name)));
      const signalled = [...ref.values()].filter((s) => s.callIds.size > 0);
      const seen = new Set<string>();
      for (const r of reports) {
        const key = reportKey(r);
        seen.add(key);
        expect(r.RTP_SIP_CALL_ID, key).toBe(r.CORRELATION_ID);
        const want = expectedCallId(ref.get(key), first.get(key));
        if (want === '') expect(r.CORRELATION_ID, key).toBe(syntheticOf(r));
        else expect(r.CORRELATION_ID, key).toBe(want);
      }
      // Every SIP-signalled stream of the reference is reported (under its Call-ID, checked above).
      for (const s of signalled) expect(seen.has(s.key), `${s.key} reported`).toBe(true);
    });
  }
});

function expectedCallId(ref: RefStream | undefined, firstPacket: string | undefined): string {
  if (ref === undefined || ref.callIds.size === 0) return '';
  if (ref.callIds.size === 1) return [...ref.callIds][0];
  return firstPacket ?? '';
}

function syntheticOf(r: E2eReport): string {
  return syntheticCallId({ srcIp: r.SRC_IP, srcPort: r.SRC_PORT, dstIp: r.DST_IP, dstPort: r.DST_PORT, ssrc: r.SSRC });
}
