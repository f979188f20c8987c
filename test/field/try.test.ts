import { it } from 'vitest';
import { runFixture, g711, fixtureKey } from './fixtures.js';
const j = (i: number) => ((i * 7919) % 11) - 5;
it('try', async () => {
  // seq 2 before seq 1
  const a = g711(50, { jitterMs: j });
  [a[0], a[1]] = [a[1], a[0]]; const m0 = a[0].ms; a[0].ms = a[1].ms; a[1].ms = m0 + 0.5;
  let r = await runFixture(a);
  console.log('reorder', JSON.stringify(r.tshark.get(fixtureKey())), JSON.stringify(r.probe.get(fixtureKey())?.MAX_JITTER), r.probe.get(fixtureKey())?.MEAN_JITTER, r.probe.get(fixtureKey())?.MAX_SKEW);
  const b = [...g711(30, { ts0: 100000, jitterMs: j }), ...g711(30, { seq0: 1030, ts0: 0, ms0: 600, jitterMs: j })];
  r = await runFixture(b);
  console.log('reset', JSON.stringify(r.tshark.get(fixtureKey())), r.probe.get(fixtureKey())?.MAX_JITTER, r.probe.get(fixtureKey())?.MEAN_JITTER, r.probe.get(fixtureKey())?.MAX_SKEW);
});
