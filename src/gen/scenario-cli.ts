/**
 * Writes a generated benchmark scenario to a classic pcap file.
 * Prints the ground truth (streams, packets, dropped) as JSON when done. Usage: see USAGE below.
 */
import { callDurationForSize, writeScenarioPcap, type ScenarioCodec, type ScenarioOptions } from './scenario.js';

const USAGE = `usage: node dist/gen/scenario-cli.js OUT.pcap [options]
  --calls N          SIP calls (INVITE/200/ACK ... BYE), two RTP streams each   (default 100)
  --concurrent N     calls start every call-duration/N s: a steady state of N calls (default: spread over --duration)
  --duration S       capture length when --concurrent is not given              (default 60)
  --call-duration S  media seconds per call                                     (default 30)
  --mb N             size the capture to about N megabytes (sets --call-duration; --concurrent defaults to --calls)
  --codec C          PCMA | PCMU | G729                                         (default PCMA)
  --ptime MS         packetization                                              (default 20)
  --loss PCT         long-run RTP loss                                          (default 0)
  --burst PCT        Gilbert burstiness: P(loss | previous lost); omit for random loss
  --jitter MS        each packet arrives 0..MS after its send time              (default 0)
  --no-rtcp          no RTCP SR/SDES (default: every ~5 s per direction)
  --seed N           random seed                                                (default 1)
  --start EPOCH_S    capture time of the first packet                           (default 1700000000)`;

function parseArgs(argv: string[]): { out: string; opts: ScenarioOptions } {
  const opts: ScenarioOptions = {
    calls: 100, durationS: 60, callDurationS: 30, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 1, startEpochS: 1_700_000_000,
  };
  let out = '';
  let megabytes = 0;
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
      case '--mb': megabytes = num(); break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
      default:
        if (a.startsWith('-') || out !== '') throw new Error(`unexpected argument ${a}\n${USAGE}`);
        out = a;
    }
  }
  if (out === '') throw new Error(USAGE);
  if (megabytes > 0) {
    opts.callDurationS = callDurationForSize(megabytes, opts.calls, opts.codec, opts.ptimeMs);
    opts.concurrentCalls ??= opts.calls;
  }
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
