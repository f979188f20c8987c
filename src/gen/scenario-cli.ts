/**
 * Writes a generated benchmark scenario to a classic pcap file.
 * node dist/gen/scenario-cli.js OUT.pcap [--calls N] [--concurrent N] [--duration S] [--call-duration S]
 *   [--codec PCMA|PCMU|G729] [--ptime MS] [--loss PCT] [--burst PCT] [--jitter MS] [--no-rtcp] [--seed N] [--start EPOCH_S]
 * Prints the ground truth (streams, packets, dropped) as JSON when done.
 */
import { writeScenarioPcap, type ScenarioCodec, type ScenarioOptions } from './scenario.js';

function parseArgs(argv: string[]): { out: string; opts: ScenarioOptions } {
  const opts: ScenarioOptions = {
    calls: 100, durationS: 60, callDurationS: 30, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 1, startEpochS: 1_700_000_000,
  };
  let out = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const num = () => {
      const x = Number(v());
      if (!Number.isFinite(x)) throw new Error(`${a} needs a number`);
      return x;
    };
    switch (a) {
      case '--calls': opts.calls = num(); break;
      case '--concurrent': opts.concurrentCalls = num(); break;
      case '--duration': opts.durationS = num(); break;
      case '--call-duration': opts.callDurationS = num(); break;
      case '--codec': {
        const c = v().toUpperCase();
        if (c !== 'PCMA' && c !== 'PCMU' && c !== 'G729') throw new Error(`unknown codec ${c}`);
        opts.codec = c as ScenarioCodec;
        break;
      }
      case '--ptime': opts.ptimeMs = num(); break;
      case '--loss': opts.lossPct = num(); break;
      case '--burst': opts.burstLossPct = num(); break;
      case '--jitter': opts.jitterMs = num(); break;
      case '--no-rtcp': opts.rtcp = false; break;
      case '--seed': opts.seed = num(); break;
      case '--start': opts.startEpochS = Math.floor(num()); break;
      default:
        if (a.startsWith('--') || out !== '') throw new Error(`unexpected argument ${a}`);
        out = a;
    }
  }
  if (out === '') throw new Error('usage: scenario-cli OUT.pcap [--calls N] [--duration S] [--call-duration S] ...');
  return { out, opts };
}

try {
  const { out, opts } = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const stats = writeScenarioPcap(out, opts, (s) => process.stderr.write(`\r${s.records} records, ${(s.bytes / 1e6).toFixed(0)} MB`));
  process.stderr.write('\n');
  const { streams: _streams, ...summary } = stats;
  console.log(JSON.stringify({ file: out, seconds: (Date.now() - t0) / 1000, ...summary }));
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
