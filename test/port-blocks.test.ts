/**
 * The test processes' ports and fanout group ids (test/port-blocks.ts): outside Linux's ephemeral ports,
 * held against other processes, and apart from every other block's and from the probe's automatic groups.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUTO_FANOUT_GROUPS } from '../src/ops/config.js';
import { fanoutGroupOfBlock, portBlock, PORT_GRID, takePorts } from './port-blocks.js';

describe('test port blocks', () => {
  it('lie above the ephemeral ports of this host, and another process cannot take the block held', async () => {
    const [, lastEphemeral] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const block = await portBlock();
    expect(block.lockPort).toBeGreaterThan(lastEphemeral!);
    expect(block.base).toBe(block.lockPort + 1);
    expect(block.base + block.size).toBeLessThanOrEqual(65536);
    expect(await portBlock()).toBe(block); // one block per process
    const listen = `require('node:net').createServer().once('error', (e) => { console.log(e.code); process.exit(0); }).listen({ port: ${block.lockPort}, host: '127.0.0.1', exclusive: true }, () => { console.log('listening'); process.exit(0); });`;
    expect(spawnSync(process.execPath, ['-e', listen], { encoding: 'utf8' }).stdout.trim()).toBe('EADDRINUSE');
  });

  it('hand out consecutive ports once each, and refuse more than the block holds', async () => {
    const block = await portBlock();
    const a = await takePorts(3);
    const b = await takePorts(1);
    expect(b).toBe(a + 3);
    expect(a).toBeGreaterThanOrEqual(block.base);
    await expect(takePorts(block.size)).rejects.toThrow(`takes ${block.size} ports at most`);
  });

  it("give every block fanout group ids of its own, below the probe's automatic ids", () => {
    const ids = new Set<number>();
    for (let index = 0; index < PORT_GRID.blocks; index++) {
      const lockPort = PORT_GRID.firstPort + index * PORT_GRID.blockSize;
      const block = { index, lockPort, base: lockPort + 1, size: PORT_GRID.blockSize - 1 };
      for (let k = 0; k < PORT_GRID.groupsPerBlock; k++) ids.add(fanoutGroupOfBlock(block, k));
      expect(() => fanoutGroupOfBlock(block, PORT_GRID.groupsPerBlock)).toThrow();
    }
    expect(ids.size).toBe(PORT_GRID.blocks * PORT_GRID.groupsPerBlock);
    expect(Math.max(...ids)).toBeLessThan(AUTO_FANOUT_GROUPS.min);
    expect(Math.min(...ids)).toBeGreaterThan(0);
  });
});
