import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LinkType } from '../../src/capture/batch.js';
import { listInterfaces, openLiveCapture, type LivePacketSource } from '../../src/capture/live/index.js';
import { collect, compareToReference, isRoot, sendGstRtp, sendUdp, Tcpdump, testFanoutGroup, testPort } from './helpers.js';
import { until } from '../wait.js';

/** Runs `send` while both tcpdump and our source capture `filter` on lo; returns both packet lists. */
async function captureAlongsideTcpdump(
  open: (filter: string) => Promise<LivePacketSource>,
  filter: string,
  send: () => Promise<void>,
  sent: number,
) {
  const td = new Tcpdump();
  await td.start(filter);
  const src = await open(filter);
  const ours = collect(src);
  await send();
  await delivered(src, sent);
  // tcpdump too has written every packet before it is stopped (SIGINT ends its loop).
  expect(await until(() => td.records() >= sent)).toBe(true);
  await src.close();
  const mine = await ours;
  const ref = await td.stop();
  return { src, mine, ref };
}

/**
 * Resolves once the source has handed over the `sent` packets its filter matches (the last TPACKET_V3
 * block retires on the buffer timeout, and the reading loop may be slow to get there on a loaded machine).
 * Not the kernel's count: it also counts other traffic on lo that reached the socket before its filter
 * was attached, which libpcap then filters out itself.
 */
async function delivered(src: LivePacketSource, sent: number): Promise<void> {
  expect(await until(() => src.stats().received >= sent), JSON.stringify(src.stats())).toBe(true);
}

describe.skipIf(!isRoot)('live capture, pcap addon backend, on lo', () => {
  it('lists interfaces including the loopback', () => {
    const lo = listInterfaces().find((i) => i.name === 'lo');
    expect(lo).toBeDefined();
    expect(lo!.loopback).toBe(true);
    expect(lo!.up).toBe(true);
    expect(lo!.addresses.some((a) => a.family === 'IPv4' && a.address === '127.0.0.1')).toBe(true);
  });

  it('captures GStreamer RTP from another process: same packets and kernel timestamps as tcpdump (<100 us)', async () => {
    const port = testPort();
    const { src, mine, ref } = await captureAlongsideTcpdump(
      (filter) => openLiveCapture({ interface: 'lo', backend: 'pcap', filter }),
      `udp port ${port}`,
      () => sendGstRtp(port, 60),
      60,
    );
    expect(src.backend).toBe('pcap');
    expect(src.hostTimestamps).toBe(false);
    expect(src.linkType).toBe(LinkType.EN10MB);
    expect(ref.length).toBe(60);
    expect(mine.length).toBe(ref.length);
    const cmp = compareToReference(mine, ref);
    expect(cmp).toMatchObject({ matched: ref.length, onlyOurs: 0, onlyRef: 0 });
    console.log(`pcap backend vs tcpdump: ${cmp.matched} packets, max |Δts| = ${cmp.maxDiffNs} ns`);
    expect(Number(cmp.maxDiffNs)).toBeLessThan(100_000);
    for (const p of mine) {
      expect(p.linkType).toBe(LinkType.EN10MB);
      expect(p.wirelen).toBe(p.caplen);
    }
    const st = src.stats();
    expect(st.statsAvailable).toBe(true);
    expect(st.received).toBe(mine.length);
    expect(st.kernelReceived).toBeGreaterThan(0);
    expect(st.droppedKernel).toBe(0);
  });

  it('3000 UDP datagrams sent back to back arrives complete, in several batches, with a BPF filter excluding other ports', async () => {
    const port = testPort();
    const other = testPort();
    const td = new Tcpdump();
    await td.start(`udp port ${port}`);
    const src = await openLiveCapture({ interface: 'lo', backend: 'pcap', filter: `udp port ${port}`, batchPackets: 256 });
    let batches = 0;
    const mine: string[] = [];
    const loop = (async () => {
      for await (const b of src.batches()) {
        batches++;
        for (let i = 0; i < b.count; i++) {
          mine.push(Buffer.from(b.buf.subarray(b.offset[i]!, b.offset[i]! + b.caplen[i]!)).toString('hex'));
        }
      }
    })();
    await Promise.all([sendUdp(port, 3000, 30), sendUdp(other, 500, 30)]);
    await delivered(src, 3000);
    const delta = src.statsDelta();
    await src.close();
    await loop;
    const ref = await td.stop();
    expect(ref.length).toBe(3000);
    expect(mine.length).toBe(3000);
    expect(new Set(mine)).toEqual(new Set(ref.map((p) => p.key)));
    expect(batches).toBeGreaterThanOrEqual(3000 / 256);
    expect(delta.received).toBe(3000);
    expect(src.statsDelta().received).toBe(0);
  });

  it('truncates to the snap length and keeps the wire length', async () => {
    const port = testPort();
    const { mine, ref } = await captureAlongsideTcpdump(
      (filter) => openLiveCapture({ interface: 'lo', backend: 'pcap', filter, snapLength: 64 }),
      `udp port ${port}`,
      () => sendUdp(port, 20),
      20,
    );
    expect(mine.length).toBe(ref.length);
    for (let i = 0; i < mine.length; i++) {
      expect(mine[i]!.caplen).toBe(64);
      expect(mine[i]!.wirelen).toBe(ref[i]!.wirelen);
    }
  });

  it('two handles in one PACKET_FANOUT group together see every packet exactly once', async () => {
    const port = testPort();
    const filter = `udp port ${port}`;
    const td = new Tcpdump();
    await td.start(filter);
    const group = await testFanoutGroup();
    const a = await openLiveCapture({ interface: 'lo', backend: 'pcap', filter, fanoutGroup: group });
    const b = await openLiveCapture({ interface: 'lo', backend: 'pcap', filter, fanoutGroup: group });
    const pa = collect(a);
    const pb = collect(b);
    await sendUdp(port, 800, 30, 16); // 16 source ports: the flow hash spreads them over both members
    // In a fanout group the kernel counters are not per member: wait for the members' sum.
    expect(await until(() => a.stats().received + b.stats().received >= 800), JSON.stringify([a.stats(), b.stats()])).toBe(true);
    await Promise.all([a.close(), b.close()]);
    const [ma, mb] = await Promise.all([pa, pb]);
    const ref = await td.stop();
    expect(ref.length).toBe(800);
    expect(ma.length).toBeGreaterThan(0);
    expect(mb.length).toBeGreaterThan(0);
    expect(ma.length + mb.length).toBe(800);
    const union = new Set([...ma, ...mb].map((p) => p.key));
    expect(union).toEqual(new Set(ref.map((p) => p.key)));
  });

  it('names the interface when it does not exist', async () => {
    await expect(openLiveCapture({ interface: 'nosuchif0', backend: 'pcap' })).rejects.toMatchObject({
      code: 'ENODEV',
      message: expect.stringContaining("'nosuchif0'"),
    });
  });

  it('names the interface and the fix when it is down', async () => {
    const name = `rpd${process.pid % 100000}`;
    spawnSync('ip', ['link', 'del', name]);
    const add = spawnSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`], { encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
    try {
      await expect(openLiveCapture({ interface: name, backend: 'pcap' })).rejects.toMatchObject({
        code: 'ENETDOWN',
        message: expect.stringContaining(`'${name}' is not up: bring it up first (ip link set ${name} up)`),
      });
    } finally {
      spawnSync('ip', ['link', 'del', name]);
    }
  });

  it("rejects a bad BPF filter with pcap's own message (same as tcpdump's)", async () => {
    const bad = 'udp port and';
    // tcpdump -d compiles the expression with the same libpcap: its message is the reference.
    const td = spawnSync('tcpdump', ['-i', 'lo', '-d', bad], { encoding: 'utf8' });
    const m = /can't parse filter expression: (.*)/.exec(td.stderr);
    expect(m).not.toBeNull();
    const err = await openLiveCapture({ interface: 'lo', backend: 'pcap', filter: bad }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EFILTER' });
    expect((err as Error).message).toContain(bad);
    expect((err as Error).message).toContain(m![1]!.trim());
  });

  it('close is idempotent and ends the batch iteration', async () => {
    const src = await openLiveCapture({ interface: 'lo', backend: 'pcap', filter: `udp port ${testPort()}` });
    const it = src.batches()[Symbol.asyncIterator]();
    const next = it.next();
    await src.close();
    await src.close();
    await expect(next).resolves.toMatchObject({ done: true });
    expect(src.stats().received).toBe(0);
  });
});

const cli = new URL('../../dist/cli.js', import.meta.url).pathname;

describe.skipIf(!existsSync(cli))('capture.buffer_size_mb', () => {
  // libpcap takes the ring size as an int of bytes: 2047 MiB is the largest it can be given.
  it('past what the capture can open: refused at validation (exit 2, the setting named), not at open', () => {
    const run = spawnSync(process.execPath, [cli, 'run', '-i', 'lo', '--no-hep', '--set', 'metrics.enabled=false', '--set', 'capture.buffer_size_mb=2048'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain('capture.buffer_size_mb');
    const check = spawnSync(process.execPath, [cli, 'check-config', '--set', 'capture.buffer_size_mb=2048'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(2);
    const largest = spawnSync(process.execPath, [cli, 'check-config', '--set', 'capture.buffer_size_mb=2047'], { encoding: 'utf8' });
    expect(largest.status, largest.stderr).toBe(0);
  });
});
