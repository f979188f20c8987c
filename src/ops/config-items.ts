/**
 * Items of a list of mappings (reports.rules, hep.collectors) set from text: environment variables and
 * `--set` address one item by its index, either whole or one field of it:
 *
 *   --set reports.rules.0.when='mos < 3.6'          RTPPROBE_REPORTS_RULES_0_WHEN='mos < 3.6'
 *   --set reports.rules[1]='name=jit;when=max_jitter_ms > 30;interval_s=5'
 *                                                   RTPPROBE_REPORTS_RULES_1='name=jit;when=...'
 *   --rule 'name=poor;when=mos < 3.6;interval_s=2'  (repeatable: the rules given replace the list)
 *   --set hep.collectors.0.tls.ca=/etc/ca.pem       RTPPROBE_HEP_COLLECTORS_0_TLS_CA=/etc/ca.pem
 *
 * A whole item is `key=value` pairs separated by `;` (keys as in the YAML file, dotted into a mapping of
 * the item: `tls.ca`). An index may address an item of the list as it stands (file, then earlier
 * settings) or the next one (appends).
 */
import { allSettings, closest, textSettings, type LeafInfo, type SchemaNode } from './schema.js';

/** The list-of-mappings settings of a schema, by dotted path. */
export function itemLists(schema: SchemaNode<unknown>): Map<string, LeafInfo> {
  return new Map(allSettings(schema).filter((l) => l.node.kind === 'array').map((l) => [l.path.join('.'), l]));
}

export interface ItemAddress {
  list: LeafInfo;
  index: number;
  /** YAML path of one field inside the item, dotted (`when`, `tls.ca`); undefined = the whole item. */
  field?: string;
}

/** `reports.rules.0.when`, `reports.rules[0]` -> the list, index and field; undefined when not an item path. */
export function itemAddress(key: string, lists: Map<string, LeafInfo>): ItemAddress | undefined {
  const m = /^(.+?)(?:\.(\d+)|\[(\d+)\])(?:\.([a-z0-9_.]+))?$/.exec(key);
  if (!m) return undefined;
  const list = lists.get(m[1]!);
  if (!list) return undefined;
  return { list, index: Number(m[2] ?? m[3]), field: m[4] };
}

/** `RTPPROBE_REPORTS_RULES_0_WHEN` -> the same address; undefined when the name is no item variable. */
export function itemAddressOfEnv(name: string, prefix: string, lists: Map<string, LeafInfo>): ItemAddress | undefined {
  for (const list of lists.values()) {
    const head = `${prefix}${list.path.join('_').toUpperCase()}_`;
    if (!name.startsWith(head)) continue;
    const m = /^(\d+)(?:_([A-Z0-9_]+))?$/.exec(name.slice(head.length));
    if (!m) continue;
    const env = m[2]?.toLowerCase();
    // TLS_CA is the field tls.ca: the variable's underscores join the field's path as well as its words.
    const field = env === undefined ? undefined : ([...itemFields(list).keys()].find((f) => f.replace(/\./g, '_') === env) ?? env);
    return { list, index: Number(m[1]), field };
  }
  return undefined;
}

/** The item's fields that text can set, by dotted path (`when`, `tls.ca`). */
function itemFields(list: LeafInfo): Map<string, SchemaNode<unknown>> {
  const item = (list.node as unknown as { item: SchemaNode<unknown> }).item;
  return new Map(textSettings(item).map((l) => [l.path.join('.'), l.node]));
}

/** A field's text read like an environment value (numbers, booleans); an error text for unknown fields. */
function fieldValue(list: LeafInfo, field: string, text: string): { value: unknown } | { error: string } {
  const fields = itemFields(list);
  const node = fields.get(field);
  if (!node?.fromText) {
    const names = [...fields.keys()];
    const near = closest(field, names);
    return { error: `unknown field ${JSON.stringify(field)}${near ? `; did you mean ${near}?` : ''} (fields: ${names.join(', ')})` };
  }
  return { value: node.fromText(text) };
}

/** Sets `tls.ca` in an item mapping, making the mappings on the way. */
function setField(item: Record<string, unknown>, field: string, value: unknown): void {
  const path = field.split('.');
  let cur = item;
  for (const seg of path.slice(0, -1)) {
    const next = cur[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** `name=poor;when=mos < 3.6;interval_s=2` -> a raw item mapping, or an error text. */
export function parseItemText(list: LeafInfo, text: string): { value: Record<string, unknown> } | { error: string } {
  const out: Record<string, unknown> = {};
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return { error: `${JSON.stringify(part.trim())} is not key=value (an item is key=value pairs separated by ";", e.g. name=poor;when=mos < 3.6)` };
    const key = part.slice(0, eq).trim();
    const v = fieldValue(list, key, part.slice(eq + 1).trim());
    if ('error' in v) return v;
    setField(out, key, v.value);
  }
  return { value: out };
}

/**
 * Applies one item setting to the raw configuration (YAML form): replaces item `index` (whole) or one
 * of its fields; index == length appends. Returns an error text, or undefined.
 */
export function setItem(raw: Record<string, unknown>, addr: ItemAddress, text: string): string | undefined {
  const path = addr.list.path;
  let parent: Record<string, unknown> = raw;
  for (const seg of path.slice(0, -1)) {
    if (typeof parent[seg] !== 'object' || parent[seg] === null || Array.isArray(parent[seg])) parent[seg] = {};
    parent = parent[seg] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (!Array.isArray(parent[last])) parent[last] = parent[last] === undefined ? addr.list.node.defaultRaw() : [];
  const items = parent[last] as unknown[];
  if (addr.index > items.length) return `index ${addr.index} is past the end: the list has ${items.length} item${items.length === 1 ? '' : 's'} (use 0..${items.length})`;
  if (addr.field === undefined) {
    const item = parseItemText(addr.list, text);
    if ('error' in item) return item.error;
    items[addr.index] = item.value;
    return undefined;
  }
  const v = fieldValue(addr.list, addr.field, text);
  if ('error' in v) return v.error;
  const cur = items[addr.index];
  const item = typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? (cur as Record<string, unknown>) : {};
  setField(item, addr.field, v.value);
  items[addr.index] = item;
  return undefined;
}

/** The item's YAML path for messages: `reports.rules[0].when`. */
export function itemPath(addr: ItemAddress): string {
  return `${addr.list.path.join('.')}[${addr.index}]${addr.field ? `.${addr.field}` : ''}`;
}
