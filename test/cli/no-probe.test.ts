/**
 * `rtpprobe health` and `rtpprobe top` asked when no probe runs on the metrics port they ask: one line
 * saying so and naming what to check, exit 1 (health's "not healthy"), no stack trace.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, runCliSync } from './helpers.js';
import { takePorts } from '../port-blocks.js';

let bundle = '';
let port = 0; // this test process's own port: no other test listens there

beforeAll(async () => {
  ({ bundle } = await bundleCli());
  port = await takePorts(1);
});

describe('no probe on the metrics port', () => {
  it('health: exit 1, one line naming the endpoint and what to check', () => {
    const config = join(mkdtempSync(join(tmpdir(), 'rtpprobe-health-')), 'rtpprobe.yaml');
    writeFileSync(config, `metrics:\n  port: ${port}\n`);
    const r = runCliSync(bundle, ['health', '-c', config]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`rtpprobe: http://127.0.0.1:${port}/healthz: connection refused (is the probe running, with metrics.enabled and this port?)\n`);
  });

  it('top --once: exit 1, the same reason', () => {
    const r = runCliSync(bundle, ['top', '--once', '--url', `127.0.0.1:${port}`]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toBe(`rtpprobe top: cannot read http://127.0.0.1:${port}/api/calls: connection refused (is the probe running, with metrics.enabled and this port?)\n`);
  });
});
