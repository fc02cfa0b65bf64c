// Line analyses (word → target tokens, and the line's sparse vector) keyed by the line's text,
// filled in the background by the worker and read synchronously by the hover. Keying by text
// means an edit only re-analyses the lines it changed, and identical lines share one entry.
import type { LineAnalysis } from '../worker/operations';

export class LineCache {
  private readonly entries = new Map<string, LineAnalysis>();

  constructor(private readonly capacity = 20_000) {}

  get size(): number {
    return this.entries.size;
  }

  get(line: string): LineAnalysis | undefined {
    const hit = this.entries.get(line);
    if (hit) {
      // refresh its place in the LRU order
      this.entries.delete(line);
      this.entries.set(line, hit);
    }
    return hit;
  }

  has(line: string): boolean {
    return this.entries.has(line);
  }

  set(line: string, analysis: LineAnalysis): void {
    this.entries.delete(line);
    this.entries.set(line, analysis);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The distinct, non-blank lines of `lines` that are not cached yet, at most `limit`. */
  missing(lines: Iterable<string>, limit: number): string[] {
    const out = new Set<string>();
    for (const l of lines) {
      if (out.size >= limit) break;
      if (l.trim() && !this.entries.has(l)) out.add(l);
    }
    return [...out];
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Weight of vocabulary id `id` in a sparse vector with ascending ids (binary search). */
export function weightIn(vector: { ids: ArrayLike<number>; weights: ArrayLike<number> } | undefined, id: number): number {
  if (!vector) return 0;
  let lo = 0;
  let hi = vector.ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = vector.ids[mid];
    if (v === id) return vector.weights[mid];
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}
