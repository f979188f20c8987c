/**
 * Reading the probe's live JSON API in tests: the metrics endpoint listens before capture opens, and
 * /api/* answers 503 until the probe attaches its live state, so a poll treats 503 as "not yet".
 */
export async function liveApi<T>(url: string): Promise<T | null> {
  const res = await fetch(url);
  if (res.status === 503) return null;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
