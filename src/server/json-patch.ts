/**
 * RFC 6902 JSON patch with the API server's bounds on what a patch may cost. A `copy` can
 * double the document, so twenty small operations could otherwise build gigabytes while the
 * event loop waits; the bounds are checked while applying, before each operation's work:
 *
 * - at most {@link MAX_JSON_PATCH_OPERATIONS} operations (apiserver `maxJSONPatchOperations`),
 *   413 `RequestEntityTooLarge` beyond;
 * - `copy` operations may add at most `maxCopyBytes` in total (the apiserver arms json-patch's
 *   `AccumulatedCopySizeLimit` with `JSONPatchMaxCopyBytes`, 3 MiB), 422 beyond with
 *   json-patch's message;
 * - no operation may nest the document deeper than `maxDepth` (422);
 * - the array shifting and value walking of all operations together stay within `maxWork`
 *   steps (422): inserting at the front of a large array costs its length, and ten thousand
 *   such inserts would otherwise block the server for seconds.
 *
 * The patched document's total size is checked by the caller, as for every patch type. The
 * application yields to the event loop between operations every {@link YIELD_EVERY} steps.
 */
import { cloneJson, measureJson, type JsonMeasure } from './json-measure.js';
import { jsonEqual, PatchError, PatchTooLargeError, type Json } from './patch.js';

/** The API server's limit on the operations of one JSON patch (`maxJSONPatchOperations`). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/** Bounds of {@link applyJsonPatch}. */
export interface JsonPatchLimits {
  /** Largest total size (bytes, as encoded) that `copy` operations may add. */
  maxCopyBytes: number;
  /** Deepest nesting the document may reach. */
  maxDepth: number;
  /** Largest number of elements shifted and values walked by all operations together. */
  maxWork: number;
}

/** One RFC 6902 operation. */
interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

type Container = Json[] | { [k: string]: Json };

function isObject(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(ptr)}: must start with /`, true);
  return ptr.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: Json[], tok: string, forAdd: boolean, ptr: string): number {
  if (forAdd && tok === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(tok)) throw new PatchError(`invalid array index ${JSON.stringify(tok)} in ${JSON.stringify(ptr)}`);
  const i = Number(tok);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`index out of range: ${i} in ${JSON.stringify(ptr)}`);
  return i;
}

function parseOps(patch: unknown): JsonPatchOp[] {
  if (!Array.isArray(patch)) throw new PatchError('json patch must be a list of operations', true);
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchTooLargeError(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`);
  }
  return patch.map((o: unknown, i) => {
    if (!isObject(o)) throw new PatchError(`json patch operation ${i} is not an object`, true);
    const op = o.op;
    if (op !== 'add' && op !== 'remove' && op !== 'replace' && op !== 'move' && op !== 'copy' && op !== 'test') {
      throw new PatchError(`Unexpected kind: ${JSON.stringify(op ?? null)}`, true);
    }
    if (typeof o.path !== 'string') throw new PatchError(`json patch operation ${i} (${op}) is missing "path"`, true);
    if ((op === 'move' || op === 'copy') && typeof o.from !== 'string') throw new PatchError(`json patch operation ${i} (${op}) is missing "from"`, true);
    if ((op === 'add' || op === 'replace' || op === 'test') && !('value' in o)) throw new PatchError(`json patch operation ${i} (${op}) is missing "value"`, true);
    const r: JsonPatchOp = { op, path: o.path };
    if (typeof o.from === 'string') r.from = o.from;
    if ('value' in o) r.value = o.value as Json;
    return r;
  });
}

/**
 * One application: the document and the budgets its operations draw from.
 *
 * A `copy` does not duplicate its value: both places refer to the same value, which is marked
 * shared, and an operation that later changes something inside a shared value first copies
 * the containers on its way down (one level at a time, their children becoming shared in
 * turn). Copying is then free in memory, and a patch that copies a value into itself twenty
 * times builds nothing before its copy budget refuses it. The result is copied out once at
 * the end, so that the caller gets a tree.
 */
class Application {
  private copied = 0;
  /** Work done, in elements shifted and values walked or copied. */
  work = 0;
  private readonly shared = new WeakSet<object>();
  private sharing = false;

  constructor(
    public doc: Json,
    private readonly limits: JsonPatchLimits,
  ) {}

  private spend(units: number): void {
    this.work += units;
    if (this.work > this.limits.maxWork) {
      throw new PatchError(`the JSON patch is too costly to apply: its operations would shift or walk more than ${this.limits.maxWork} values`);
    }
  }

  private tooDeep(): PatchError {
    return new PatchError(`the patched object would be nested deeper than ${this.limits.maxDepth} levels`);
  }

  /** Measures `value` for a place `tokens` keys deep (refusing too deep a result), within `maxBytes`. */
  private measure(value: Json, tokens: number, maxBytes = Number.MAX_SAFE_INTEGER): JsonMeasure {
    const m = measureJson(value, maxBytes, this.limits.maxDepth - tokens);
    this.spend(m.nodes);
    if (m.exceeded === 'depth') throw this.tooDeep();
    return m;
  }

  /** A copy of a value of the patch document to place `tokens` keys deep. */
  private fresh(value: Json, tokens: number): Json {
    const c = cloneJson(value, Number.MAX_SAFE_INTEGER, this.limits.maxDepth - tokens);
    this.spend(c.measure.nodes);
    if (c.measure.exceeded === 'depth') throw this.tooDeep();
    return c.value as Json;
  }

  private share(v: Json): void {
    if (typeof v === 'object' && v !== null) {
      this.shared.add(v);
      this.sharing = true;
    }
  }

  /** `c`, or when it is shared a copy of it put in its place (its children becoming shared). */
  private own(c: Container, put: (copy: Container) => void): Container {
    if (!this.shared.has(c)) return c;
    const copy: Container = Array.isArray(c) ? [...c] : { ...c };
    const children = Array.isArray(copy) ? copy : Object.values(copy);
    this.spend(children.length + 1);
    for (const x of children) this.share(x);
    put(copy);
    return copy;
  }

  /**
   * The container addressed by all but the last token of `ptr`, and that last token. With
   * `write`, every container on the way is the document's own (unshared), so it may be changed.
   */
  private locate(ptr: string, write: boolean): { parent: Container; key: string } {
    const toks = parsePointer(ptr);
    const last = toks.pop();
    if (last === undefined) throw new PatchError('the root cannot be the target of this operation');
    let cur: Json = this.doc;
    if (write && (Array.isArray(cur) || isObject(cur))) cur = this.own(cur, (c) => (this.doc = c));
    for (const t of toks) {
      const parent: Json = cur;
      let next: Json;
      if (Array.isArray(parent)) {
        const i = arrayIndex(parent, t, false, ptr);
        next = parent[i] as Json;
        if (write && (Array.isArray(next) || isObject(next))) next = this.own(next, (c) => (parent[i] = c));
      } else if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, t)) {
        next = parent[t] as Json;
        if (write && (Array.isArray(next) || isObject(next))) next = this.own(next, (c) => (parent[t] = c));
      } else {
        throw new PatchError(`doc is missing path: ${JSON.stringify(ptr)}`);
      }
      cur = next;
    }
    if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`doc is missing path: ${JSON.stringify(ptr)}`);
    return { parent: cur, key: last };
  }

  get(ptr: string): Json {
    if (ptr === '') return this.doc;
    const { parent, key } = this.locate(ptr, false);
    if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false, ptr)] as Json;
    if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`doc is missing path: ${JSON.stringify(ptr)}`);
    return parent[key] as Json;
  }

  remove(ptr: string): Json {
    const { parent, key } = this.locate(ptr, true);
    if (Array.isArray(parent)) {
      const i = arrayIndex(parent, key, false, ptr);
      this.spend(parent.length - i);
      return parent.splice(i, 1)[0] as Json;
    }
    if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`unable to remove nonexistent key: ${key}: missing value`);
    const v = parent[key] as Json;
    delete parent[key];
    return v;
  }

  /** Adds `value`, whose depth the caller checked against `ptr`. */
  add(ptr: string, value: Json): void {
    if (ptr === '') {
      this.doc = value;
      return;
    }
    const { parent, key } = this.locate(ptr, true);
    if (Array.isArray(parent)) {
      const i = arrayIndex(parent, key, true, ptr);
      this.spend(parent.length - i + 1);
      parent.splice(i, 0, value);
    } else if (key === '__proto__') {
      Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      parent[key] = value;
    }
  }

  /** Depth (in keys) of the place `ptr` names. */
  static tokens(ptr: string): number {
    return ptr === '' ? 0 : ptr.split('/').length - 1;
  }

  apply(o: JsonPatchOp): void {
    const tokens = Application.tokens(o.path);
    switch (o.op) {
      case 'add':
        this.add(o.path, this.fresh(o.value as Json, tokens));
        return;
      case 'remove':
        if (o.path === '') throw new PatchError('the root cannot be removed');
        this.remove(o.path);
        return;
      case 'replace': {
        const v = this.fresh(o.value as Json, tokens);
        if (o.path === '') {
          this.doc = v;
        } else {
          this.remove(o.path);
          this.add(o.path, v);
        }
        return;
      }
      case 'move': {
        const from = o.from as string;
        if (o.path.startsWith(`${from}/`)) throw new PatchError(`cannot move ${JSON.stringify(from)} into its own child ${JSON.stringify(o.path)}`);
        if (from === o.path) return;
        const v = from === '' ? this.doc : this.remove(from);
        // Moving up cannot nest deeper; moving down is measured.
        if (tokens > Application.tokens(from)) this.measure(v, tokens);
        this.add(o.path, v);
        return;
      }
      case 'copy': {
        const v = this.get(o.from as string);
        const m = this.measure(v, tokens, this.limits.maxCopyBytes - this.copied);
        this.copied += m.bytes;
        if (m.exceeded === 'bytes') {
          throw new PatchError(`Unable to complete the copy, the accumulated size increase of copy is ${this.copied}, exceeding the limit ${this.limits.maxCopyBytes}`);
        }
        this.share(v);
        this.add(o.path, v);
        return;
      }
      case 'test': {
        let actual: Json;
        try {
          actual = this.get(o.path);
        } catch {
          throw new PatchError(`testing value ${o.path} failed: test failed`);
        }
        if (!jsonEqual(actual, o.value)) throw new PatchError(`testing value ${o.path} failed: test failed`);
        return;
      }
    }
  }

  /** The document as a tree: values that copies share are copied out. */
  result(): Json {
    if (!this.sharing) return this.doc;
    return cloneJson(this.doc, Number.MAX_SAFE_INTEGER, this.limits.maxDepth).value as Json;
  }
}

/**
 * Work between two yields to the event loop (about a few ms): a patch that copies megabytes
 * lets other requests through while it is applied, instead of holding them for the whole patch.
 */
const YIELD_EVERY = 100_000;

/**
 * RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`) applied to a copy of
 * `doc`, within `limits` (see the module comment). Rejects with {@link PatchTooLargeError} for
 * too many operations, {@link PatchError} with `badRequest` for a malformed patch document, and
 * {@link PatchError} for an operation that does not apply (missing path, failed `test`) or
 * passes a bound.
 */
export async function applyJsonPatch(doc: Json, patch: unknown, limits: JsonPatchLimits): Promise<Json> {
  const ops = parseOps(patch);
  const start = cloneJson(doc, Number.MAX_SAFE_INTEGER, limits.maxDepth);
  if (start.value === undefined) throw new PatchError(`the object is nested deeper than ${limits.maxDepth} levels`);
  const app = new Application(start.value as Json, limits);
  let nextYield = YIELD_EVERY;
  for (const o of ops) {
    app.apply(o);
    if (app.work >= nextYield) {
      nextYield = app.work + YIELD_EVERY;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return app.result();
}
