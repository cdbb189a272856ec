/**
 * Label and field selectors as the API server parses and applies them
 * (k8s.io/apimachinery `pkg/labels/selector.go` and `pkg/fields/selector.go`).
 */
import { isQualifiedName, isValidLabelValue } from '../api/names.js';

/** A selector the client sent is malformed; the server answers 400 BadRequest with this message. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** One label requirement. `values` is empty for `exists`/`!exists`. */
export interface LabelRequirement {
  key: string;
  op: 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
  values: string[];
}

/** A parsed label selector: all requirements must hold (an empty list matches everything). */
export type LabelSelector = LabelRequirement[];

type TokKind = 'id' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '<' | '>' | 'in' | 'notin' | 'eof';
interface Tok {
  kind: TokKind;
  text: string;
}

const SPECIAL = new Set(['!', '=', '(', ')', ',', '<', '>']);

function lexLabels(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (SPECIAL.has(c)) {
      const two = s.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        out.push({ kind: two, text: two });
        i += 2;
      } else {
        out.push({ kind: c as TokKind, text: c });
        i++;
      }
      continue;
    }
    let j = i;
    while (j < s.length && !SPECIAL.has(s[j] as string) && !/\s/.test(s[j] as string)) j++;
    const text = s.slice(i, j);
    out.push({ kind: text === 'in' ? 'in' : text === 'notin' ? 'notin' : 'id', text });
    i = j;
  }
  out.push({ kind: 'eof', text: '' });
  return out;
}

/**
 * Parses a `labelSelector` query value: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
 * `a`, `!a`, `a>1`, `a<1`, comma-separated. Throws {@link SelectorError}.
 */
export function parseLabelSelector(s: string): LabelSelector {
  const toks = lexLabels(s);
  let p = 0;
  const peek = (): Tok => toks[p] as Tok;
  const next = (): Tok => toks[p++] as Tok;
  const fail = (t: Tok, expected: string): never => {
    throw new SelectorError(`unable to parse requirement: found '${t.text}', expected: ${expected}`);
  };
  const reqs: LabelRequirement[] = [];
  if (peek().kind === 'eof') return reqs;
  for (;;) {
    let t = next();
    let req: LabelRequirement;
    if (t.kind === '!') {
      t = next();
      if (t.kind !== 'id') fail(t, 'identifier');
      req = { key: t.text, op: '!exists', values: [] };
    } else {
      if (t.kind !== 'id') fail(t, 'identifier');
      const key = t.text;
      const op = peek();
      if (op.kind === 'eof' || op.kind === ',') {
        req = { key, op: 'exists', values: [] };
      } else if (op.kind === '=' || op.kind === '==' || op.kind === '!=' || op.kind === '<' || op.kind === '>') {
        next();
        const v = peek();
        let value = '';
        if (v.kind === 'id') {
          value = v.text;
          next();
        } else if (v.kind !== 'eof' && v.kind !== ',') {
          fail(v, 'identifier');
        }
        if (op.kind === '<' || op.kind === '>') {
          if (!/^-?\d+$/.test(value)) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
          req = { key, op: op.kind === '<' ? 'lt' : 'gt', values: [value] };
        } else {
          req = { key, op: op.kind === '!=' ? '!=' : '=', values: [value] };
        }
      } else if (op.kind === 'in' || op.kind === 'notin') {
        next();
        const open = next();
        if (open.kind !== '(') fail(open, "'('");
        const values: string[] = [];
        let expectValue = true;
        for (;;) {
          const v = next();
          if (v.kind === ')') {
            if (expectValue && values.length > 0) values.push('');
            break;
          }
          if (v.kind === ',') {
            if (expectValue) values.push('');
            expectValue = true;
            continue;
          }
          if (v.kind === 'id' && expectValue) {
            values.push(v.text);
            expectValue = false;
            continue;
          }
          fail(v, "',', ')' or identifier");
        }
        if (values.length === 0) throw new SelectorError(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
        req = { key, op: op.kind, values };
      } else {
        fail(op, "'=', '!=', '==', 'in', 'notin', ',' or end of string");
        continue;
      }
    }
    const keyErrs = isQualifiedName(req.key);
    if (keyErrs.length > 0) throw new SelectorError(`unable to parse requirement: key: Invalid value: ${JSON.stringify(req.key)}: ${keyErrs.join('; ')}`);
    for (const v of req.op === 'gt' || req.op === 'lt' ? [] : req.values) {
      const e = isValidLabelValue(v);
      if (e.length > 0) throw new SelectorError(`unable to parse requirement: values[0][${req.key}]: Invalid value: ${JSON.stringify(v)}: ${e.join('; ')}`);
    }
    reqs.push(req);
    const sep = next();
    if (sep.kind === 'eof') return reqs;
    if (sep.kind !== ',') fail(sep, "',' or 'end of string'");
    if (peek().kind === 'eof') fail(peek(), 'identifier');
  }
}

/** True when `labels` satisfies every requirement. */
export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? l[r.key] : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
      case '=':
      case 'in':
        if (!has || !r.values.includes(v as string)) return false;
        break;
      case '!=':
      case 'notin':
        if (has && r.values.includes(v as string)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v as string)) return false;
        const a = Number(v);
        const b = Number(r.values[0]);
        if (r.op === 'gt' ? !(a > b) : !(a < b)) return false;
        break;
      }
    }
  }
  return true;
}

/** One field requirement: `field=value` or `field!=value`. */
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

function unescapeFieldValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c !== '\\') {
      if (c === '=' || c === ',') throw new SelectorError(`invalid field selector value: unescaped ${c} in ${JSON.stringify(v)}`);
      out += c;
      continue;
    }
    const n = v[i + 1];
    if (n === '\\' || n === ',' || n === '=') {
      out += n;
      i++;
    } else {
      throw new SelectorError(`invalid field selector value: invalid escape sequence in ${JSON.stringify(v)}`);
    }
  }
  return out;
}

/**
 * Parses a `fieldSelector` query value (`a=b,c!=d`, `==` allowed, values escaped with `\`),
 * checking every field against `supported` (else `field label not supported: <f>`).
 */
export function parseFieldSelector(s: string, supported: ReadonlySet<string>): FieldRequirement[] {
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  terms.push(cur);
  const out: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === '' && terms.length === 1) return [];
    let found: { at: number; op: '=' | '!=' | '==' } | undefined;
    for (let i = 0; i < term.length && !found; i++) {
      if (term[i] === '\\') {
        i++;
        continue;
      }
      if (term.startsWith('!=', i)) found = { at: i, op: '!=' };
      else if (term.startsWith('==', i)) found = { at: i, op: '==' };
      else if (term[i] === '=') found = { at: i, op: '=' };
    }
    if (!found) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    const field = term.slice(0, found.at);
    const value = unescapeFieldValue(term.slice(found.at + found.op.length));
    if (!supported.has(field)) throw new SelectorError(`field label not supported: ${field}`);
    out.push({ field, op: found.op === '!=' ? '!=' : '=', value });
  }
  return out;
}

/** True when every requirement holds for the object whose fields `get` returns. */
export function matchFields(reqs: readonly FieldRequirement[], get: (field: string) => string): boolean {
  for (const r of reqs) {
    const v = get(r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
