/**
 * `rtpprobe run` with capture.workers = 3 on SIP whose order matters across workers: B2BUA calls whose two
 * legs (a <-> B2BUA, B2BUA <-> b: two SIP flows, so mostly on two workers) re-INVITE 20 ms apart to the
 * same media addresses, where the leg whose offer/answer completes last owns the media. Each worker reads
 * its ring on its own buffer timeout, so the later leg's SIP often reaches the main thread first; the
 * reports must still be those `rtpprobe replay` gives for the same file: every stream's Call-ID, X_CID,
 * DIR, PARTY and packets. Two network namespaces joined by a veth pair; tcpreplay plays the generated pcap
 * at 4x on one end, the probe captures on the other and writes JSON lines. Needs root, tcpreplay and a
 * built dist/; skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b2buaSharedMedia, classicPcap, type PcapRecord } from '../../src/gen/index.js';
import { allCaptured, canNetns, replayIntoProbe, sh, streamEndings, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

const CALLS = 24;
const PACKETS = 30;

/**
 * CALLS B2BUA calls 45 ms apart, alternately leg 2 and leg 1 re-INVITEd last; the Call-ID owning each
 * stream (the leg re-INVITEd last), by `src:port>dst:port`.
 */
function b2buaCalls(tag: string): { pcap: Buffer; frames: number; owners: Record<string, string> } {
  const records: PcapRecord[] = [];
  const owners: Record<string, string> = {};
  for (let i = 0; i < CALLS; i++) {
    const c = b2buaSharedMedia({ t0Ms: 1_700_000_000_000 + i * 45, packets: PACKETS, lastLeg: i % 2 === 0 ? 2 : 1, net: i, tag: `${tag}-${i}` });
    records.push(...c.records);
    owners[`${c.a.ip}:${c.a.port}>${c.b.ip}:${c.b.port}`] = c.callId;
    owners[`${c.b.ip}:${c.b.port}>${c.a.ip}:${c.a.port}`] = c.callId;
  }
  records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
  return { pcap: classicPcap(records), frames: records.length, owners };
}

/** What must not depend on the workers, per stream: the reports that end it. */
const asCompared = (endings: Map<string, Array<Record<string, unknown>>>) =>
  Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => ({ type: r.TYPE, callId: r.CORRELATION_ID, xcid: r.X_CID, packets: r.TOTAL_PK, dir: r.DIR, party: r.PARTY }))]));

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 3: SIP of different workers in capture order', () => {
  const nsA = `roa${process.pid}`;
  const nsB = `rob${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'oa', 'ob');
  let dir: string;
  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-sip-order-'));
  });
  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a B2BUA's re-INVITE pair on two workers: every stream under the leg `rtpprobe replay` gives it, with its DIR, PARTY and packets", async () => {
    const s = b2buaCalls(String(process.pid));
    const pcap = join(dir, 'b2bua.pcap');
    writeFileSync(pcap, s.pcap);
    const refJsonl = join(dir, 'replay.jsonl');
    sh(process.execPath, cli, 'replay', pcap, '--no-hep', '--jsonl', refJsonl, '--log-level', 'warn');
    const reference = asCompared(streamEndings(refJsonl));
    expect(Object.fromEntries(Object.entries(reference).map(([k, rs]) => [k, rs.map((r) => r.callId)]))).toEqual(Object.fromEntries(Object.entries(s.owners).map(([k, id]) => [k, [id]])));
    const live = await replayIntoProbe({ cli, link: { nsA, nsB, a: 'oa', b: 'ob' }, pcap, jsonl: join(dir, 'live.jsonl'), workers: 3, replayArgs: ['-x', '4'], stopWhen: allCaptured('ob', s.frames) });
    expect(asCompared(live)).toEqual(reference);
  });
});
