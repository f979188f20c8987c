import { expect } from 'vitest';
import { pino } from 'pino';
import { HepChunk, decodeHep3Strict, type HepDecoded } from '../../src/hep/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { runReplay } from '../../src/probe.js';
import { sleep, startUdpSink } from '../hep/helpers.js';

/**
 * Replays `file` through runReplay (the CLI's path) with the shipped defaults, `edit` applied, HEP going to
 * a real UDP socket; returns every message that arrived, decoded by the strict decoder. `log` sees the run.
 */
export async function replayToUdp(file: string, edit: (c: ProbeConfig) => void = () => {}, log = pino({ level: 'silent' })): Promise<HepDecoded[]> {
  const sink = await startUdpSink(0, 4 << 20);
  try {
    const c = defaultConfig();
    c.hep.collectors = [{ ...c.hep.collectors[0]!, host: '127.0.0.1', port: sink.port, transport: 'udp' }];
    c.metrics.enabled = false;
    edit(c);
    expect(await runReplay([file], c, { realtime: false, print: () => {} }, log)).toBe(0);
    // runReplay drains the sender before returning; loopback delivery needs a moment more at most.
    let n = -1;
    while (n !== sink.packets.length) {
      n = sink.packets.length;
      await sleep(150);
    }
    return sink.packets.map((p) => decodeHep3Strict(p));
  } finally {
    await sink.close();
  }
}

/** A SIP header's value in a HEP type 1 message's payload (the first of that name), or undefined. */
export function sipHeader(d: HepDecoded, name: string): string | undefined {
  return new RegExp(`^${name}:[ \\t]*(.*?)\\r$`, 'mi').exec(d.payload.toString('utf8'))?.[1];
}

/**
 * A HEP type 1 message's Call-ID, read from its SIP: the probe sends SIP without a correlation id chunk,
 * as heplify does (the collector derives it); the check that it carries none is here.
 */
export function sipCallId(d: HepDecoded): string | undefined {
  expect(d.chunkOrder, 'SIP goes without chunk 0x11').not.toContain(HepChunk.CORRELATION_ID);
  return sipHeader(d, 'Call-ID');
}
