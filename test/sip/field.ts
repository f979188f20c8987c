import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type ProbeConfig } from '../../src/ops/config.js';
import { CAPTURES } from './helpers.js';

/**
 * The configuration a field capture is replayed with: the defaults, plus the `--set` settings of its
 * NAME.probe-args when it has one (the README of the captures says why), HEP off, Wireshark's clock.
 */
export function fieldConfig(name: string): ProbeConfig {
  const argsFile = join(CAPTURES, 'field', `${name}.probe-args`);
  const overrides: Record<string, string> = {};
  if (existsSync(argsFile)) {
    const words = readFileSync(argsFile, 'utf8').trim().split(/\s+/);
    for (let i = 0; i < words.length; i++) {
      if (words[i] !== '--set') continue;
      const [path, value] = words[++i].split('=');
      overrides[path] = value;
    }
  }
  const c = loadConfig({ overrides });
  c.hep.enabled = false;
  c.reports.jsonl.enabled = false;
  c.rtp.wiresharkCompatibleClock = true;
  return c;
}
