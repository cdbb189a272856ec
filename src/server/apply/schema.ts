/**
 * The schema server-side apply merges with: structured-merge-diff's type system (scalars,
 * lists that are atomic or associative, maps that are atomic or granular), built from the
 * OpenAPI v3 document podvisor serves for `api/v1` the way the API server builds its type
 * converter (kube-openapi `schemaconv`):
 *
 * - a list's `x-kubernetes-list-type` decides (`atomic`, `set`, `map` with
 *   `x-kubernetes-list-map-keys`); without it, `x-kubernetes-patch-strategy: merge` makes it
 *   associative, keyed by `x-kubernetes-patch-merge-key` (a set when there is no key); any
 *   other list is atomic;
 * - a map or struct is granular unless `x-kubernetes-map-type: atomic`, also when given on a
 *   field that refers to a named type;
 * - `int-or-string`, `date-time` and `Quantity` are untyped scalars; a schema without a type is
 *   an untyped value, an object without properties a "deduced" one (granular maps of anything).
 *
 * A kind without a schema in the document is typed as deduced, as upstream types an object it
 * has no model for.
 */
import { openApiV3Group } from '../openapi.js';
import type { Json } from './fieldpath.js';

/** A scalar's type. */
export type ScalarType = 'string' | 'numeric' | 'boolean' | 'untyped';

/** A list: atomic (replaced whole) or associative (merged by key, or by value for a set). */
export interface ListType {
  readonly relationship: 'atomic' | 'associative';
  /** Key fields of an associative list of maps; empty for a set of scalars. */
  readonly keys: readonly string[];
  readonly elem: TypeRef;
}

/** A struct field: its type and its default (used for a missing key field of a list element). */
export interface StructField {
  readonly type: TypeRef;
  readonly default: Json | undefined;
}

/** A map or struct: declared fields, the type of other keys (none: undeclared), atomic or granular. */
export interface MapType {
  readonly fields: ReadonlyMap<string, StructField>;
  readonly elem: TypeRef | undefined;
  readonly relationship: 'atomic' | 'separable';
}

/** What a value may be; several for untyped values (the value's JSON type picks one). */
export interface Atom {
  readonly scalar?: ScalarType;
  readonly list?: ListType;
  readonly map?: MapType;
}

/** A reference to a type: by name (with an optional map/list relationship override), or inline. */
export interface TypeRef {
  readonly named?: string;
  readonly inlined?: Atom;
  readonly relationship?: 'atomic' | 'separable';
}

const UNTYPED = '__untyped_atomic_';
const DEDUCED = '__untyped_deduced_';

/** The type of keys nothing declares (`x-kubernetes-preserve-unknown-fields`-like). */
export const DEDUCED_REF: TypeRef = { named: DEDUCED };

/** A set of named types. */
export class Schema {
  private readonly types = new Map<string, Atom>();
  private readonly overridden = new Map<string, Atom>();

  constructor() {
    this.types.set(UNTYPED, {
      scalar: 'untyped',
      list: { relationship: 'atomic', keys: [], elem: { named: UNTYPED } },
      map: { fields: new Map(), elem: { named: UNTYPED }, relationship: 'atomic' },
    });
    this.types.set(DEDUCED, {
      scalar: 'untyped',
      list: { relationship: 'atomic', keys: [], elem: { named: UNTYPED } },
      map: { fields: new Map(), elem: { named: DEDUCED }, relationship: 'separable' },
    });
  }

  /** Adds a named type. */
  define(name: string, atom: Atom): void {
    this.types.set(name, atom);
  }

  /** Whether a named type exists. */
  has(name: string): boolean {
    return this.types.has(name);
  }

  /** The type a reference names (with its relationship override applied), or undefined. */
  resolve(tr: TypeRef): Atom | undefined {
    const base = tr.named !== undefined ? this.types.get(tr.named) : tr.inlined;
    if (!base || tr.relationship === undefined || tr.named === undefined) return base;
    const key = `${tr.named}\u0000${tr.relationship}`;
    let a = this.overridden.get(key);
    if (!a) {
      if (base.map) a = { map: { ...base.map, relationship: tr.relationship } };
      else if (base.list) a = { list: { ...base.list, relationship: tr.relationship === 'atomic' ? 'atomic' : 'associative' } };
      else return undefined;
      this.overridden.set(key, a);
    }
    return a;
  }
}

type OpenApi = Record<string, unknown>;

function isObj(v: unknown): v is OpenApi {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const RAW_EXTENSION = 'io.k8s.apimachinery.pkg.runtime.RawExtension';

function refName(s: OpenApi): string | undefined {
  let ref = typeof s.$ref === 'string' ? s.$ref : undefined;
  if (ref === undefined && Array.isArray(s.allOf) && s.allOf.length === 1 && isObj(s.allOf[0]) && typeof s.allOf[0].$ref === 'string') ref = s.allOf[0].$ref;
  if (ref === undefined) return undefined;
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  return name === '' ? undefined : name;
}

function mapRelationship(s: OpenApi): 'atomic' | 'separable' | undefined {
  const v = s['x-kubernetes-map-type'];
  return v === 'atomic' ? 'atomic' : v === 'granular' ? 'separable' : undefined;
}

function listRelationship(s: OpenApi): { relationship: 'atomic' | 'associative'; keys: string[] } {
  const t = s['x-kubernetes-list-type'];
  if (t !== undefined) {
    if (t === 'set') return { relationship: 'associative', keys: [] };
    if (t === 'map') {
      const keys = Array.isArray(s['x-kubernetes-list-map-keys']) ? s['x-kubernetes-list-map-keys'].filter((k): k is string => typeof k === 'string') : [];
      return { relationship: 'associative', keys };
    }
    return { relationship: 'atomic', keys: [] };
  }
  const strategy = s['x-kubernetes-patch-strategy'];
  if (strategy === 'merge' || strategy === 'merge,retainKeys') {
    const key = s['x-kubernetes-patch-merge-key'];
    return { relationship: 'associative', keys: typeof key === 'string' ? [key] : [] };
  }
  return { relationship: 'atomic', keys: [] };
}

class Converter {
  private preserveUnknown = false;

  ref(s: OpenApi): TypeRef {
    const name = refName(s);
    if (name !== undefined) {
      const rel = mapRelationship(s);
      return rel ? { named: name, relationship: rel } : { named: name };
    }
    const saved = this.preserveUnknown;
    const inlined = this.atom(s);
    this.preserveUnknown = saved;
    return { inlined };
  }

  atom(s: OpenApi): Atom {
    if (s['x-kubernetes-preserve-unknown-fields'] === true) this.preserveUnknown = true;
    const type = typeof s.type === 'string' ? s.type : '';
    switch (type) {
      case '':
        return { scalar: 'untyped', list: this.list(s), map: this.object(s) };
      case 'object':
        return { map: this.object(s) };
      case 'array':
        return { list: this.list(s) };
      case 'integer':
      case 'number':
        return { scalar: 'numeric' };
      case 'boolean':
        return { scalar: 'boolean' };
      case 'string':
        return { scalar: s.format === undefined || s.format === '' || s.format === 'byte' ? 'string' : 'untyped' };
      default:
        return { scalar: 'untyped' };
    }
  }

  private object(s: OpenApi): MapType {
    const fields = new Map<string, StructField>();
    const props = isObj(s.properties) ? s.properties : {};
    for (const [name, member] of Object.entries(props)) {
      if (!isObj(member)) continue;
      fields.set(name, { type: this.ref(member), default: member.default as Json | undefined });
    }
    let elem: TypeRef | undefined;
    const ap = s.additionalProperties;
    if (ap === undefined) elem = this.preserveUnknown || fields.size === 0 ? DEDUCED_REF : undefined;
    else if (isObj(ap)) elem = this.ref(ap);
    else if (ap === true) elem = DEDUCED_REF;
    return { fields, elem, relationship: mapRelationship(s) ?? 'separable' };
  }

  private list(s: OpenApi): ListType {
    const { relationship, keys } = listRelationship(s);
    const elem = isObj(s.items) ? this.ref(s.items) : { named: UNTYPED };
    return { relationship, keys, elem };
  }
}

/** Builds a schema from OpenAPI `components.schemas`; returns it and the root type of each kind (`group/version/Kind`). */
export function schemaFromOpenApi(schemas: Record<string, unknown>): { schema: Schema; kinds: Map<string, string> } {
  const schema = new Schema();
  const kinds = new Map<string, string>();
  for (const [name, spec] of Object.entries(schemas)) {
    if (!isObj(spec) || refName(spec) !== undefined) continue;
    if (name === QUANTITY) schema.define(name, { scalar: 'untyped' });
    else if (name === RAW_EXTENSION) schema.define(name, schema.resolve({ named: UNTYPED }) as Atom);
    else schema.define(name, new Converter().atom(spec));
    const gvks = spec['x-kubernetes-group-version-kind'];
    if (Array.isArray(gvks)) {
      for (const g of gvks) {
        if (isObj(g) && typeof g.kind === 'string' && typeof g.version === 'string') kinds.set(`${typeof g.group === 'string' ? g.group : ''}/${g.version}/${g.kind}`, name);
      }
    }
  }
  return { schema, kinds };
}

/** A kind's schema and root type. */
export interface KindSchema {
  readonly schema: Schema;
  readonly root: TypeRef;
}

let core: { schema: Schema; kinds: Map<string, string> } | undefined;

function coreSchema(): { schema: Schema; kinds: Map<string, string> } {
  if (!core) {
    let schemas: Record<string, unknown> = {};
    try {
      const doc = openApiV3Group('api/v1');
      const parsed = doc ? (JSON.parse(doc.body.toString('utf8')) as { components?: { schemas?: Record<string, unknown> } }) : {};
      schemas = parsed.components?.schemas ?? {};
    } catch {
      // Without the documents every kind is typed as deduced (see the module comment).
    }
    core = schemaFromOpenApi(schemas);
  }
  return core;
}

/** The schema of a kind of `apiVersion` (`v1`, or `group/version`); deduced when the document has none. */
export function kindSchema(apiVersion: string, kind: string): KindSchema {
  const c = coreSchema();
  const slash = apiVersion.indexOf('/');
  const gvk = slash < 0 ? `/${apiVersion}/${kind}` : `${apiVersion}/${kind}`;
  const name = c.kinds.get(gvk);
  return { schema: c.schema, root: name !== undefined ? { named: name } : DEDUCED_REF };
}
