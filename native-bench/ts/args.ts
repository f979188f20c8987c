/** Command-line options of the benches: `--name value`. */
export function argString(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

export function argNumber(name: string, dflt: number): number {
  const v = argString(name, '');
  return v === '' ? dflt : Number(v);
}
