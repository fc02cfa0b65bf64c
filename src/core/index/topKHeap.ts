// A bounded min-heap of (score, slot) keeping the k best hits. Order: score descending, ties by
// document id descending, the tie rule of trec_eval, so the top k is the same set trec_eval would
// rank first and the result is independent of the traversal order.

export type TieBreak = (slotA: number, slotB: number) => number;

export class TopKHeap {
  readonly scores: Float64Array;
  readonly slots: Int32Array;
  size = 0;

  constructor(
    readonly k: number,
    /** > 0 when slot a ranks before slot b at equal scores */
    private readonly tieBreak: TieBreak,
  ) {
    this.scores = new Float64Array(k);
    this.slots = new Int32Array(k);
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** score of the worst kept hit (-Infinity while not full) */
  get threshold(): number {
    return this.size === this.k ? this.scores[0] : -Infinity;
  }

  /** true if (sa, a) ranks strictly worse than (sb, b) */
  private worse(sa: number, a: number, sb: number, b: number): boolean {
    return sa < sb || (sa === sb && this.tieBreak(a, b) < 0);
  }

  /** Offers a hit; returns true if it was kept. */
  offer(score: number, slot: number): boolean {
    if (this.k === 0) return false;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(score, slot, this.scores[p], this.slots[p])) break;
        this.scores[i] = this.scores[p];
        this.slots[i] = this.slots[p];
        i = p;
      }
      this.scores[i] = score;
      this.slots[i] = slot;
      return true;
    }
    if (!this.worse(this.scores[0], this.slots[0], score, slot)) return false;
    // replace the root and sift down
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.worse(this.scores[r], this.slots[r], this.scores[l], this.slots[l])) c = r;
      if (!this.worse(this.scores[c], this.slots[c], score, slot)) break;
      this.scores[i] = this.scores[c];
      this.slots[i] = this.slots[c];
      i = c;
    }
    this.scores[i] = score;
    this.slots[i] = slot;
    return true;
  }

  /** best first */
  sorted(): { slot: number; score: number }[] {
    const out: { slot: number; score: number }[] = [];
    for (let i = 0; i < this.size; i++) out.push({ slot: this.slots[i], score: this.scores[i] });
    return out.sort((a, b) => (b.score !== a.score ? b.score - a.score : -this.tieBreak(a.slot, b.slot)));
  }
}
