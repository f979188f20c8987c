import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decoderUdpFlowsOfFile, sorted, tsharkUdpFlows } from './flows.js';

const dir = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));
const files = [
  ...readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)),
  ...readdirSync(dir + 'synth').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => 'synth/' + f),
  // Other people's networks: VLAN/QinQ, GTP-U, IPv6, SPAN duplicates.
  ...readdirSync(dir + 'field').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => 'field/' + f),
];

describe('UDP flows of the shared captures match tshark', () => {
  it('finds the captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(33);
  });
  for (const f of files) {
    it(f, () => {
      const ours = decoderUdpFlowsOfFile(dir + f);
      const theirs = tsharkUdpFlows(dir + f);
      expect(theirs.size).toBeGreaterThan(0);
      expect(sorted(ours.flows)).toEqual(sorted(theirs));
      expect([...ours.decoder.malformed].every((n) => n === 0)).toBe(true);
    });
  }
});
