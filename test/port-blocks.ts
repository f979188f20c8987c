/**
 * Ports that no other test process uses meanwhile (the suite's other file running beside, another
 * checkout's suite on the same host): a block of UDP ports above Linux's ephemeral range (32768-60999), claimed
 * by holding its first port as a TCP listener on 127.0.0.1 as long as this process runs. TCP and UDP ports
 * are apart, so the block's UDP ports stay free for the test. A process whose preferred block (by its id) is
 * claimed takes the next free one.
 */
import { createServer } from 'node:net';

/** The first port of a block of `size` ports in from..to-1 that this process now holds. */
export async function claimPortBlock(from: number, to: number, size: number): Promise<number> {
  const blocks = Math.floor((to - from) / size);
  for (let i = 0; i < blocks; i++) {
    const base = from + ((process.pid + i) % blocks) * size;
    if (await holdTcpPort(base)) return base;
  }
  throw new Error(`no free block of ${size} test ports in ${from}-${to - 1}: other test processes hold them all`);
}

/** Listens on 127.0.0.1:port until this process exits; false when another socket has it. */
function holdTcpPort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.unref(); // held, but keeps no process alive
      resolve(true);
    });
  });
}
