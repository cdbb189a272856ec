/** The small-then-indexed map the field sets keep their levels in. */

/**
 * A map from element ids, kept as an array while small (most levels of a set hold a handful
 * of elements, and a set of many list elements has as many levels), indexed once it grows.
 */
export class SmallMap<T> {
  private readonly ids: string[] = [];
  private readonly items: T[] = [];
  private index: Map<string, number> | undefined;

  get size(): number {
    return this.ids.length;
  }

  private at(id: string): number {
    if (this.index) return this.index.get(id) ?? -1;
    if (this.ids.length > 8) {
      this.index = new Map(this.ids.map((k, i) => [k, i]));
      return this.index.get(id) ?? -1;
    }
    return this.ids.indexOf(id);
  }

  get(id: string): T | undefined {
    const i = this.at(id);
    return i < 0 ? undefined : this.items[i];
  }

  has(id: string): boolean {
    return this.at(id) >= 0;
  }

  set(id: string, v: T): void {
    const i = this.at(id);
    if (i >= 0) {
      this.items[i] = v;
      return;
    }
    this.ids.push(id);
    this.items.push(v);
    this.index?.set(id, this.ids.length - 1);
  }

  delete(id: string): void {
    const i = this.at(id);
    if (i < 0) return;
    this.ids.splice(i, 1);
    this.items.splice(i, 1);
    this.index = undefined;
  }

  values(): readonly T[] {
    return this.items;
  }

  entries(): [string, T][] {
    return this.ids.map((k, i) => [k, this.items[i] as T]);
  }
}
