/**
 * Ports and PACKET_FANOUT group ids that no other test process uses meanwhile (the suite's other file
 * running beside, another checkout's suite on the same host).
 *
 * Every test process that needs them claims one block of BLOCK_SIZE ports in 61000-65535, above Linux's
 * ephemeral range (32768-60999, where any socket's source port may land), by holding the block's first port
 * as a TCP listener on 127.0.0.1 as long as the process runs; its tests use the block's other ports, UDP or
 * TCP. All blocks lie on one grid, so two claims never overlap. The block's index also names fanout group
 * ids of the process's own (`fanoutGroupOfBlock`), below the ids the probe picks automatically
 * (AUTO_FANOUT_GROUPS), so a test's group never meets another test's group or a probe's.
 */
import { createServer, type Server } from 'node:net';
import { AUTO_FANOUT_GROUPS } from '../src/ops/config.js';

const FIRST_PORT = 61000;
const END_PORT = 65536;
/**
 * Ports per block: the lock, and for the largest user (media-workers-ops) 4 per call for 16 calls, a SIP
 * port and the port after it, a flow port and testPort()'s 16.
 */
const BLOCK_SIZE = 96;
const BLOCKS = Math.floor((END_PORT - FIRST_PORT) / BLOCK_SIZE);
const GROUPS_PER_BLOCK = 4;
/** Test fanout group ids: GROUPS_PER_BLOCK per block, just below the ids the probe picks automatically. */
const FIRST_GROUP = AUTO_FANOUT_GROUPS.min - BLOCKS * GROUPS_PER_BLOCK;

/** The grid, for the test of this module. */
export const PORT_GRID = { firstPort: FIRST_PORT, endPort: END_PORT, blockSize: BLOCK_SIZE, blocks: BLOCKS, groupsPerBlock: GROUPS_PER_BLOCK } as const;

export interface PortBlock {
  /** Which block of the grid: also names the process's fanout group ids. */
  index: number;
  /** The block's first port, held by the claim's TCP listener: no test uses it. */
  lockPort: number;
  /** First of the `size` consecutive ports after lockPort that the process's tests use. */
  base: number;
  size: number;
}

let claim: Promise<PortBlock> | undefined;

/** This process's block, claimed on the first call (a process holds one block at most). */
export function portBlock(): Promise<PortBlock> {
  claim ??= claimBlock();
  return claim;
}

let taken = 0;
/** The first of `n` consecutive ports of this process's block not handed out before. */
export async function takePorts(n: number): Promise<number> {
  const block = await portBlock();
  if (taken + n > block.size) throw new Error(`a test process takes ${block.size} ports at most (takePorts ${n} after ${taken})`);
  taken += n;
  return block.base + taken - n;
}

/** Fanout group id `k` (0..GROUPS_PER_BLOCK-1) of the process holding `block`. */
export function fanoutGroupOfBlock(block: PortBlock, k = 0): number {
  if (k < 0 || k >= GROUPS_PER_BLOCK) throw new Error(`a test process has ${GROUPS_PER_BLOCK} fanout group ids (asked for number ${k})`);
  return FIRST_GROUP + block.index * GROUPS_PER_BLOCK + k;
}

async function claimBlock(): Promise<PortBlock> {
  // Start at a block from the process id, so processes started together rarely try the same ones first.
  for (let i = 0; i < BLOCKS; i++) {
    const index = (process.pid + i) % BLOCKS;
    const lockPort = FIRST_PORT + index * BLOCK_SIZE;
    if (!(await holdTcpPort(lockPort))) continue;
    if (await othersNear(lockPort)) {
      releaseTcpPort(lockPort);
      continue;
    }
    return { index, lockPort, base: lockPort + 1, size: BLOCK_SIZE - 1 };
  }
  throw new Error(`no free block of ${BLOCK_SIZE} test ports in ${FIRST_PORT}-${END_PORT - 1}: other test processes hold all ${BLOCKS}`);
}

/**
 * Whether another TCP listener sits in the block or up to a block below it: a checkout whose tests claim
 * blocks of other sizes or offsets (their lock is their block's first port) may use ports of this block.
 * Blocks of this grid lock ports a whole block apart, outside that span.
 */
async function othersNear(lockPort: number): Promise<boolean> {
  for (let port = Math.max(FIRST_PORT, lockPort - BLOCK_SIZE + 1); port < Math.min(END_PORT, lockPort + BLOCK_SIZE); port++) {
    if (port === lockPort) continue;
    if (!(await holdTcpPort(port))) return true;
    releaseTcpPort(port);
  }
  return false;
}

const held = new Map<number, Server>();

/** Listens on 127.0.0.1:port until this process exits or releases it; false when another socket has it. */
function holdTcpPort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.unref(); // held, but keeps no process alive
      held.set(port, server);
      resolve(true);
    });
  });
}

function releaseTcpPort(port: number): void {
  held.get(port)?.close();
  held.delete(port);
}
