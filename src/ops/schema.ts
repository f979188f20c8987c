/**
 * A small declarative schema: each node knows its default, how to validate a raw (YAML/JSON) value into
 * the typed value, and how to read a value from text (environment variables, `--set key=value`).
 * The TypeScript type of a whole configuration is inferred from the schema, so the schema is the single
 * source of truth for defaults, validation, documentation and types. YAML keys are snake_case; the
 * inferred object keys are camelCase.
 */

export interface Problem {
  /** Dotted path in YAML terms, e.g. `hep.collectors[0].port`. */
  path: string;
  message: string;
}

/** Collects problems instead of stopping at the first one, so an operator fixes a file in one pass. */
export class Issues {
  readonly list: Problem[] = [];
  constructor(private readonly origin: (path: string) => string | undefined = () => undefined) {}

  /** `path: VALUE is not allowed: must be ALLOWED (set by ORIGIN)`. */
  notAllowed(path: string, value: unknown, allowed: string): void {
    const from = this.origin(path);
    this.list.push({
      path,
      message: `${path}: ${showValue(value)} is not allowed: must be ${allowed}${from ? ` (set by ${from})` : ''}`,
    });
  }

  /** True when a problem was recorded for a mapping or list item that encloses `path`. */
  enclosing(path: string): boolean {
    return this.list.some((p) => path.startsWith(`${p.path}.`));
  }

  add(path: string, message: string): void {
    const from = this.origin(path);
    this.list.push({ path, message: `${path}: ${message}${from ? ` (set by ${from})` : ''}` });
  }
}

export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}

export type Kind = 'int' | 'number' | 'bool' | 'string' | 'enum' | 'list' | 'object' | 'array' | 'record';

export interface SchemaNode<T> {
  readonly kind: Kind;
  readonly doc: string;
  /** Human description of what is allowed, used in messages: "an integer >= 1". */
  readonly allowed: string;
  /** A fresh copy of the default value (raw YAML form; run it through validate to get T). */
  defaultRaw(): unknown;
  /** Validate a raw value (undefined = absent: use the default). Records problems; returns a best effort value. */
  validate(raw: unknown, path: string, issues: Issues): T;
  /** Leaves and scalar lists can be read from text (env vars, --set); others return undefined. */
  fromText?(text: string): unknown;
}

type Camel<S extends string> = S extends `${infer H}_${infer R}` ? `${H}${Capitalize<Camel<R>>}` : S;
export type Infer<N> = N extends SchemaNode<infer T> ? T : never;
type Fields = Record<string, SchemaNode<unknown>>;
export type ObjectOf<F extends Fields> = { [K in keyof F & string as Camel<K>]: Infer<F[K]> };

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------- leaves

interface NumberOpts {
  doc: string;
  default: number;
  min?: number;
  max?: number;
}

function rangeText(noun: string, o: { min?: number; max?: number }): string {
  if (o.min !== undefined && o.max !== undefined) return `${noun} from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return `${noun} >= ${o.min}`;
  if (o.max !== undefined) return `${noun} <= ${o.max}`;
  return noun;
}

function numberNode(kind: 'int' | 'number', o: NumberOpts): SchemaNode<number> {
  const allowed = rangeText(kind === 'int' ? 'an integer' : 'a number', o);
  return {
    kind,
    doc: o.doc,
    allowed,
    defaultRaw: () => o.default,
    validate(raw, path, issues) {
      if (raw === undefined) return o.default;
      const ok =
        typeof raw === 'number' &&
        Number.isFinite(raw) &&
        (kind === 'number' || Number.isInteger(raw)) &&
        (o.min === undefined || raw >= o.min) &&
        (o.max === undefined || raw <= o.max);
      if (!ok) {
        issues.notAllowed(path, raw, allowed);
        return o.default;
      }
      return raw as number;
    },
    fromText(text) {
      const t = text.trim();
      const n = t === '' ? NaN : Number(t);
      return Number.isNaN(n) ? text : n;
    },
  };
}

export const int = (o: NumberOpts): SchemaNode<number> => numberNode('int', o);
export const num = (o: NumberOpts): SchemaNode<number> => numberNode('number', o);

export function bool(o: { doc: string; default: boolean }): SchemaNode<boolean> {
  return {
    kind: 'bool',
    doc: o.doc,
    allowed: 'true or false',
    defaultRaw: () => o.default,
    validate(raw, path, issues) {
      if (raw === undefined) return o.default;
      if (typeof raw !== 'boolean') {
        issues.notAllowed(path, raw, 'true or false');
        return o.default;
      }
      return raw;
    },
    fromText(text) {
      const t = text.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(t)) return true;
      if (['false', 'no', 'off', '0'].includes(t)) return false;
      return text;
    },
  };
}

interface StringOpts {
  doc: string;
  default: string;
  /** Extra check on a string value; returns what is allowed when the value fails, else undefined. */
  check?: (v: string) => string | undefined;
  allowEmpty?: boolean;
  allowed?: string;
}

export function str(o: StringOpts): SchemaNode<string> {
  const allowEmpty = o.allowEmpty ?? true;
  const allowed = o.allowed ?? (allowEmpty ? 'a string' : 'a non-empty string');
  return {
    kind: 'string',
    doc: o.doc,
    allowed,
    defaultRaw: () => o.default,
    validate(raw, path, issues) {
      if (raw === undefined) {
        // No usable default (a collector's host, a rule's name): the field must be given, unless its
        // item was already refused as a whole (a --rule text that does not parse).
        if (!allowEmpty && o.default.trim() === '' && !issues.enclosing(path)) issues.add(path, `not set: must be ${allowed}`);
        return o.default;
      }
      if (typeof raw !== 'string' || (!allowEmpty && raw.trim() === '')) {
        issues.notAllowed(path, raw, allowed);
        return o.default;
      }
      const bad = o.check?.(raw);
      if (bad !== undefined) {
        issues.notAllowed(path, raw, bad);
        return o.default;
      }
      return raw;
    },
    fromText: (text) => text,
  };
}

export function oneOf<const V extends string | number>(o: { doc: string; values: readonly V[]; default: V }): SchemaNode<V> {
  const allowed = `one of ${o.values.join(', ')}`;
  return {
    kind: 'enum',
    doc: o.doc,
    allowed,
    defaultRaw: () => o.default,
    validate(raw, path, issues) {
      if (raw === undefined) return o.default;
      if (!(o.values as readonly unknown[]).includes(raw)) {
        issues.notAllowed(path, raw, allowed);
        return o.default;
      }
      return raw as V;
    },
    fromText(text) {
      const t = text.trim();
      const asNum = Number(t);
      if (t !== '' && !Number.isNaN(asNum) && (o.values as readonly unknown[]).includes(asNum)) return asNum;
      return t;
    },
  };
}

/**
 * A list of scalars. From text it is comma separated ("5060,5080"). When `ranges` is set, items may also
 * be "a-b" strings (integer ranges, both ends included), expanded in the validated value.
 */
export function list<T>(o: { doc: string; item: SchemaNode<T>; default: T[]; ranges?: boolean; minItems?: number }): SchemaNode<T[]> {
  const allowed = `a list${o.minItems ? ` of at least ${o.minItems} item${o.minItems > 1 ? 's' : ''}` : ''} (each item ${o.item.allowed}${
    o.ranges ? ', or an "a-b" range' : ''
  })`;
  return {
    kind: 'list',
    doc: o.doc,
    allowed,
    defaultRaw: () => [...o.default],
    validate(given, path, issues) {
      // The default goes through the same expansion (it may hold ranges).
      const raw: unknown = given === undefined ? o.default : given;
      if (!Array.isArray(raw)) {
        issues.notAllowed(path, raw, allowed);
        return [...o.default];
      }
      const out: T[] = [];
      raw.forEach((item: unknown, i) => {
        const p = `${path}[${i}]`;
        const m = o.ranges && typeof item === 'string' ? /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(item) : null;
        if (m) {
          const a = Number(m[1]);
          const b = Number(m[2]);
          if (a > b) {
            issues.notAllowed(p, item, 'a range "a-b" with a <= b');
            return;
          }
          const before = issues.list.length;
          const va = o.item.validate(a as unknown, p, issues);
          const vb = o.item.validate(b as unknown, p, issues);
          if (issues.list.length !== before) return;
          for (let v = va as unknown as number; v <= (vb as unknown as number); v++) out.push(v as unknown as T);
          return;
        }
        out.push(o.item.validate(item, p, issues));
      });
      if (o.minItems && out.length < o.minItems) issues.notAllowed(path, raw, allowed);
      return out;
    },
    fromText(text) {
      if (text.trim() === '') return [];
      return text.split(',').map((part) => {
        const t = part.trim();
        if (o.ranges && /^\d+\s*-\s*\d+$/.test(t)) return t;
        return o.item.fromText ? o.item.fromText(t) : t;
      });
    },
  };
}

// ------------------------------------------------------------------------------------------ containers

export interface ObjectNode<F extends Fields> extends SchemaNode<ObjectOf<F>> {
  readonly fields: F;
}

/**
 * An object with a fixed set of snake_case fields. Unknown keys are refused with a "did you mean".
 * `check` runs on the validated value for rules that span fields.
 */
export function obj<F extends Fields>(
  fields: F,
  o: { doc: string; check?: (v: ObjectOf<F>, path: string, issues: Issues) => void } = { doc: '' },
): ObjectNode<F> {
  const keys = Object.keys(fields);
  return {
    kind: 'object',
    doc: o.doc,
    allowed: 'a mapping',
    fields,
    defaultRaw() {
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = fields[k]!.defaultRaw();
      return out;
    },
    validate(raw, path, issues) {
      let src: Record<string, unknown> = {};
      if (raw !== undefined && raw !== null) {
        if (!isPlainObject(raw)) issues.notAllowed(path || '(top level)', raw, `a mapping with keys ${keys.join(', ')}`);
        else src = raw;
      }
      for (const k of Object.keys(src)) {
        if (!(k in fields)) {
          const where = path ? `${path}.${k}` : k;
          const near = closest(k, keys);
          issues.add(
            where,
            `unknown setting${near ? `; did you mean ${path ? `${path}.` : ''}${near}?` : ''} (allowed here: ${keys.join(', ')})`,
          );
        }
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) out[camelCase(k)] = fields[k]!.validate(src[k], path ? `${path}.${k}` : k, issues);
      const typed = out as ObjectOf<F>;
      o.check?.(typed, path, issues);
      return typed;
    },
  };
}

/** A list of objects; a value given by the user replaces the default list as a whole. */
export function array<N extends SchemaNode<unknown>>(o: {
  doc: string;
  item: N;
  default: unknown[];
  minItems?: number;
  maxItems?: number;
}): SchemaNode<Infer<N>[]> & { item: N } {
  const bounds = [
    o.minItems ? `at least ${o.minItems} item${o.minItems > 1 ? 's' : ''}` : '',
    o.maxItems !== undefined ? `at most ${o.maxItems} items` : '',
  ].filter((b) => b !== '');
  const allowed = `a list${bounds.length ? ` with ${bounds.join(' and ')}` : ''}`;
  return {
    kind: 'array',
    doc: o.doc,
    allowed,
    item: o.item,
    defaultRaw: () => structuredClone(o.default),
    validate(raw, path, issues) {
      const src = raw === undefined ? structuredClone(o.default) : raw;
      if (!Array.isArray(src)) {
        issues.notAllowed(path, src, allowed);
        return [];
      }
      if (o.minItems && src.length < o.minItems) issues.notAllowed(path, src.length === 0 ? 'an empty list' : src, allowed);
      if (o.maxItems !== undefined && src.length > o.maxItems) issues.add(path, `a list of ${src.length} items is not allowed: must be ${allowed}`);
      return src.map((item, i) => o.item.validate(item, `${path}[${i}]`, issues) as Infer<N>);
    },
  };
}

/**
 * A mapping from free names to objects (e.g. codec name -> parameters). User entries are merged over the
 * default entries by name, so adding one codec keeps the built-in ones, and field by field, so an entry
 * giving one field of a built-in one keeps its other fields. Names are lower-cased.
 */
export function record<N extends SchemaNode<unknown>>(o: {
  doc: string;
  item: N;
  default: Record<string, unknown>;
}): SchemaNode<Record<string, Infer<N>>> & { item: N } {
  return {
    kind: 'record',
    doc: o.doc,
    allowed: 'a mapping of names',
    item: o.item,
    defaultRaw: () => structuredClone(o.default),
    validate(raw, path, issues) {
      const merged: Record<string, unknown> = structuredClone(o.default);
      if (raw !== undefined && raw !== null) {
        if (!isPlainObject(raw)) issues.notAllowed(path, raw, 'a mapping of names');
        else
          for (const [k, v] of Object.entries(raw)) {
            const name = k.toLowerCase();
            const builtIn = merged[name];
            merged[name] = isPlainObject(builtIn) && isPlainObject(v) ? { ...builtIn, ...v } : v;
          }
      }
      const out: Record<string, Infer<N>> = {};
      for (const [k, v] of Object.entries(merged)) out[k] = o.item.validate(v, `${path}.${k}`, issues) as Infer<N>;
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------- suggestions

export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The candidate nearest to `word`, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase().replace(/-/g, '_');
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(w.length / 3)) ? best : undefined;
}

// ------------------------------------------------------------------------------------------- walking

export interface LeafInfo {
  /** YAML path segments, e.g. ['rtp', 'heuristic', 'min_consecutive']. */
  path: string[];
  node: SchemaNode<unknown>;
}

/** Every setting that can be given as text (scalars and scalar lists), with its path. */
export function textSettings(node: SchemaNode<unknown>, prefix: string[] = []): LeafInfo[] {
  if (node.kind === 'object') {
    const fields = (node as ObjectNode<Fields>).fields;
    return Object.keys(fields).flatMap((k) => textSettings(fields[k]!, [...prefix, k]));
  }
  return node.fromText ? [{ path: prefix, node }] : [];
}

/** Every setting path (objects descended, arrays/records reported as one setting). */
export function allSettings(node: SchemaNode<unknown>, prefix: string[] = []): LeafInfo[] {
  if (node.kind === 'object') {
    const fields = (node as ObjectNode<Fields>).fields;
    return Object.keys(fields).flatMap((k) => allSettings(fields[k]!, [...prefix, k]));
  }
  return [{ path: prefix, node }];
}
