/**
 * The live run's warning of SIP over TCP not read: the losses since its last line, one line per 10 s at
 * most, nothing when none; the tracker's own counts (real segments through a CallTracker) feed it.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { sipRequest, tcpFrame, TcpFlags, text } from '../../src/gen/index.js';
import { sipTcpLossWatch } from '../../src/pipeline/sip-tcp-loss.js';
import { CallTracker } from '../../src/sip/index.js';
import { eachPacket, pcapOf } from '../sip/helpers.js';

it('warns of the TCP losses since its last line, at most once per 10 s, with the counts by reason', () => {
  const lines: Array<{ msg: string; lost: Record<string, number> }> = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  const tracker = new CallTracker();
  const watch = sipTcpLossWatch(log, 'eth1', () => tracker.stats.malformed);
  const msg = text(sipRequest('INVITE', 'sip:b@h', { callId: 'c', fromTag: 'a', cseq: 1 }));
  let port = 40000;
  /** A connection that ends (FIN) with half a message: one tcp-incomplete. */
  const cut = () =>
    eachPacket(
      pcapOf([
        [0, tcpFrame('10.0.0.1', port, '10.0.0.2', 5060, 1, msg.subarray(0, 40))],
        [1, tcpFrame('10.0.0.1', port++, '10.0.0.2', 5060, 41, new Uint8Array(0), TcpFlags.FIN | TcpFlags.ACK)],
      ]),
      (pkt, nowMs) => void tracker.onPacket(pkt, nowMs),
    );
  watch(0);
  expect(lines).toEqual([]);
  cut();
  expect(tracker.stats.malformed['tcp-incomplete']).toBe(1);
  watch(1000);
  cut();
  cut();
  watch(5000); // within 10 s of the last line: nothing
  expect(lines.map((l) => l.lost)).toEqual([{ 'tcp-incomplete': 1 }]);
  watch(11_000);
  expect(lines.map((l) => l.lost)).toEqual([{ 'tcp-incomplete': 1 }, { 'tcp-incomplete': 2 }]);
  expect(lines[1]!.msg).toMatch(/^eth1: 2 SIP messages over TCP not read/);
  watch(30_000); // nothing new
  expect(lines).toHaveLength(2);
});
