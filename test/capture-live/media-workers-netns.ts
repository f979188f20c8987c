import { spawnSync } from 'node:child_process';

/** Runs a command; throws with its standard error when it fails. */
export function sh(...args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;

/**
 * Two network namespaces joined by a veth pair (`a` in nsA, `b` in nsB, both up): the probe captures on
 * `b` inside nsB. linkUp() re-creates the pair after a test deleted it (the interface "comes back").
 */
export function vethNamespaces(nsA: string, nsB: string, a: string, b: string) {
  const linkUp = () => {
    sh('ip', 'link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
    sh('ip', '-n', nsB, 'link', 'set', b, 'up');
    sh('ip', '-n', nsA, 'link', 'set', a, 'up');
  };
  return {
    linkUp,
    setup(): void {
      sh('ip', 'netns', 'add', nsA);
      sh('ip', 'netns', 'add', nsB);
      sh('ip', '-n', nsB, 'link', 'set', 'lo', 'up');
      linkUp();
    },
    teardown(): void {
      spawnSync('ip', ['netns', 'del', nsA]);
      spawnSync('ip', ['netns', 'del', nsB]);
    },
  };
}
