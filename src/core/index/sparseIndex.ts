// An inverted index of learned sparse vectors with exact top-k retrieval by MaxScore
// (Turtle & Flood 1995) evaluated term-at-a-time: query terms are ordered by their score upper
// bound q_j·max_d w_dj, the leading ("essential") terms are accumulated in full, and once the
// bounds of the rest cannot lift an unseen document above the current k-th score, the remaining
// terms only update surviving candidates. Results equal exhaustive scoring (see
// test/unit/sparseIndex.test.ts); bench/index.bench.ts measures the speed.
//
// Documents live in slots numbered in insertion order, so every posting list stays sorted by slot
// when documents are appended. Removal marks a slot dead; `compact()` rewrites the lists without
// dead slots (done before saving and when more than a quarter of the slots are dead).
import { SemBridgeError } from '../errors';
import { compareBytes } from '../corpus/trecFiles';
import type { Passage, PassageSource } from '../corpus/types';
import type { EncoderIdentity } from '../encode/encoderTypes';
import type { SparseVector } from '../types';
import { TopKHeap } from './topKHeap';

export interface IndexedDoc {
  id: string;
  title?: string;
  text: string;
  source?: PassageSource;
  /** active terms of the document vector */
  nnz: number;
}

export interface Hit {
  slot: number;
  score: number;
}

/** An upper bound must never fall below the score it bounds, whatever the summation order. */
const UB_SLACK = 1 + 1e-9;

export interface SearchStats {
  /** documents left as candidates at the end, i.e. scored in full */
  scored: number;
}

export class SparseIndex {
  /** per term: slots, ascending */
  private pDocs: Uint32Array[];
  private pWeights: Float32Array[];
  private pLen: Uint32Array;
  /** per term: max weight over its postings (an upper bound after removals) */
  private maxW: Float32Array;
  private docs: (IndexedDoc | null)[] = [];
  private alive: Uint8Array = new Uint8Array(0);
  private slotById = new Map<string, number>();
  private deadCount = 0;
  private postingCount = 0;
  /** per-query scratch (search is synchronous, so one set per index suffices) */
  private acc = new Float64Array(0);
  private seen = new Uint8Array(0);
  private touched = new Uint32Array(0);
  private cand = new Uint32Array(0);

  constructor(
    readonly identity: EncoderIdentity,
    /** internal use by the loader: prebuilt postings */
    prebuilt?: { docs: Uint32Array[]; weights: Float32Array[]; maxW: Float32Array; docTable: IndexedDoc[] },
  ) {
    const V = identity.vocabSize;
    if (!Number.isInteger(V) || V <= 0) throw new SemBridgeError(`vocabulary size must be a positive integer, got ${V}`, 'index');
    if (prebuilt) {
      this.pDocs = prebuilt.docs;
      this.pWeights = prebuilt.weights;
      this.pLen = Uint32Array.from(prebuilt.docs, (d) => d.length);
      this.maxW = prebuilt.maxW;
      this.docs = prebuilt.docTable;
      this.alive = new Uint8Array(Math.max(16, prebuilt.docTable.length)).fill(1, 0, prebuilt.docTable.length);
      prebuilt.docTable.forEach((d, i) => {
        if (this.slotById.has(d.id)) throw new SemBridgeError(`duplicate document id '${d.id}'`, 'index');
        this.slotById.set(d.id, i);
      });
      for (const l of this.pLen) this.postingCount += l;
    } else {
      const empty = new Uint32Array(0);
      const emptyW = new Float32Array(0);
      this.pDocs = new Array<Uint32Array>(V).fill(empty);
      this.pWeights = new Array<Float32Array>(V).fill(emptyW);
      this.pLen = new Uint32Array(V);
      this.maxW = new Float32Array(V);
    }
  }

  get vocabSize(): number {
    return this.identity.vocabSize;
  }
  /** live documents */
  get size(): number {
    return this.slotById.size;
  }
  get numPostings(): number {
    return this.postingCount;
  }
  get numSlots(): number {
    return this.docs.length;
  }

  has(id: string): boolean {
    return this.slotById.has(id);
  }
  getDoc(id: string): IndexedDoc | undefined {
    const s = this.slotById.get(id);
    return s === undefined ? undefined : (this.docs[s] ?? undefined);
  }
  docAt(slot: number): IndexedDoc {
    const d = this.docs[slot];
    if (!d) throw new SemBridgeError(`slot ${slot} holds no document`, 'index');
    return d;
  }
  *liveDocs(): IterableIterator<IndexedDoc> {
    for (const d of this.docs) if (d) yield d;
  }
  /** Bytes of typed-array storage the index holds (postings, bounds, flags, search scratch). */
  bufferBytes(): number {
    const seen = new Set<ArrayBufferLike>();
    let total = 0;
    const add = (a: ArrayBufferView) => {
      if (!seen.has(a.buffer)) {
        seen.add(a.buffer);
        total += a.buffer.byteLength;
      }
    };
    this.pDocs.forEach(add);
    this.pWeights.forEach(add);
    [this.pLen, this.maxW, this.alive, this.acc, this.seen, this.touched, this.cand].forEach(add);
    return total;
  }

  postingLength(term: number): number {
    return this.pLen[term] ?? 0;
  }

  /** Adds a passage with its vector; a passage with the same id is replaced. */
  add(passage: Passage, vec: SparseVector): void {
    if (vec.ids.length !== vec.weights.length) throw new SemBridgeError('ids and weights differ in length', `vector of '${passage.id}'`);
    if (this.slotById.has(passage.id)) this.remove(passage.id);
    const slot = this.docs.length;
    let nnz = 0;
    let prev = -1;
    for (let i = 0; i < vec.ids.length; i++) {
      const t = vec.ids[i];
      const w = vec.weights[i];
      if (t >= this.vocabSize) throw new SemBridgeError(`term id ${t} is outside the vocabulary (${this.vocabSize})`, `vector of '${passage.id}'`);
      if (t <= prev) throw new SemBridgeError('term ids must be strictly ascending', `vector of '${passage.id}'`);
      prev = t;
      if (!(w > 0)) continue;
      this.appendPosting(t, slot, w);
      nnz++;
    }
    const doc: IndexedDoc = { id: passage.id, text: passage.text, nnz };
    if (passage.title) doc.title = passage.title;
    if (passage.source) doc.source = passage.source;
    this.docs.push(doc);
    if (this.alive.length < this.docs.length) {
      const grown = new Uint8Array(Math.max(16, this.alive.length * 2));
      grown.set(this.alive);
      this.alive = grown;
    }
    this.alive[slot] = 1;
    this.slotById.set(passage.id, slot);
  }

  private appendPosting(t: number, slot: number, w: number): void {
    let len = this.pLen[t];
    let docs = this.pDocs[t];
    if (len === docs.length) {
      const cap = Math.max(4, len * 2);
      const nd = new Uint32Array(cap);
      nd.set(docs.subarray(0, len));
      const nw = new Float32Array(cap);
      nw.set(this.pWeights[t].subarray(0, len));
      this.pDocs[t] = docs = nd;
      this.pWeights[t] = nw;
    }
    docs[len] = slot;
    this.pWeights[t][len] = w;
    this.pLen[t] = ++len;
    if (w > this.maxW[t]) this.maxW[t] = w;
    this.postingCount++;
  }

  /** Removes a document by id; returns whether it was there. */
  remove(id: string): boolean {
    const slot = this.slotById.get(id);
    if (slot === undefined) return false;
    this.slotById.delete(id);
    this.postingCount -= this.docs[slot]!.nnz;
    this.docs[slot] = null;
    this.alive[slot] = 0;
    this.deadCount++;
    if (this.deadCount > 1024 && this.deadCount * 4 > this.docs.length) this.compact();
    return true;
  }

  /** Removes every passage that came from `file` (a workspace file that changed or was deleted). */
  removeFile(file: string): number {
    const ids: string[] = [];
    for (const d of this.docs) if (d && d.source?.file === file) ids.push(d.id);
    for (const id of ids) this.remove(id);
    return ids.length;
  }

  /** Rewrites the posting lists without removed documents and renumbers slots densely. */
  compact(): void {
    if (this.deadCount === 0 && this.pDocs.every((d, t) => d.length === this.pLen[t])) return;
    const newSlot = new Int32Array(this.docs.length).fill(-1);
    const docs: IndexedDoc[] = [];
    this.docs.forEach((d, s) => {
      if (d) {
        newSlot[s] = docs.length;
        docs.push(d);
      }
    });
    let total = 0;
    for (let t = 0; t < this.vocabSize; t++) {
      const len = this.pLen[t];
      if (len === 0) {
        this.pDocs[t] = new Uint32Array(0);
        this.pWeights[t] = new Float32Array(0);
        this.maxW[t] = 0;
        continue;
      }
      const od = this.pDocs[t];
      const ow = this.pWeights[t];
      let n = 0;
      for (let i = 0; i < len; i++) if (newSlot[od[i]] >= 0) n++;
      const nd = new Uint32Array(n);
      const nw = new Float32Array(n);
      let j = 0;
      let m = 0;
      for (let i = 0; i < len; i++) {
        const s = newSlot[od[i]];
        if (s >= 0) {
          nd[j] = s;
          nw[j] = ow[i];
          if (ow[i] > m) m = ow[i];
          j++;
        }
      }
      this.pDocs[t] = nd;
      this.pWeights[t] = nw;
      this.pLen[t] = n;
      this.maxW[t] = m;
      total += n;
    }
    this.docs = docs;
    this.alive = new Uint8Array(Math.max(16, docs.length)).fill(1, 0, docs.length);
    this.slotById = new Map(docs.map((d, i) => [d.id, i]));
    this.deadCount = 0;
    this.postingCount = total;
  }

  /** Exact postings, trimmed (for saving); call after compact(). */
  exportPostings(): { docs: Uint32Array[]; weights: Float32Array[]; maxW: Float32Array; docTable: IndexedDoc[] } {
    this.compact();
    return {
      docs: this.pDocs.map((d, t) => d.subarray(0, this.pLen[t])),
      weights: this.pWeights.map((w, t) => w.subarray(0, this.pLen[t])),
      maxW: this.maxW,
      docTable: this.docs as IndexedDoc[],
    };
  }

  /** trec_eval tie order: the larger document id (strcmp) ranks first. */
  private readonly tieBreak = (a: number, b: number): number => compareBytes(this.docs[a]!.id, this.docs[b]!.id);

  /** Weight of `term` in the document at `slot` (0 if absent), by binary search in the postings. */
  weightOf(slot: number, term: number): number {
    const len = this.pLen[term] ?? 0;
    const docs = this.pDocs[term];
    let lo = 0;
    let hi = len - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const d = docs[mid];
      if (d === slot) return this.pWeights[term][mid];
      if (d < slot) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /**
   * Exact top-k, best first (score desc, then id desc). Term-at-a-time MaxScore:
   *  1. terms are taken in decreasing order of their upper bound q_j·max w_j and accumulated in
   *     full into a dense score array ("essential" terms);
   *  2. once the bounds of the remaining terms sum to less than θ, the k-th best partial score
   *     (a lower bound of the final k-th score), no other document can still enter the top k, so
   *     the remaining ("non-essential") terms only update the surviving candidates, found in their
   *     postings by galloping search, and candidates whose partial score plus the remaining bounds
   *     falls below θ are dropped after each term.
   * Term-at-a-time suits learned sparse weights, which defeat document-at-a-time skipping
   * (Mackenzie et al., "Wacky Weights"), and is cheap in JavaScript (one typed-array pass per list).
   */
  search(query: SparseVector, k: number, stats?: SearchStats): Hit[] {
    return this.topK(query, k, true, stats);
  }

  /** Reference: scores every document term-at-a-time, then takes the top k (same order rules). */
  exhaustiveSearch(query: SparseVector, k: number, stats?: SearchStats): Hit[] {
    return this.topK(query, k, false, stats);
  }

  private topK(query: SparseVector, k: number, prune: boolean, stats?: SearchStats): Hit[] {
    if (stats) stats.scored = 0;
    if (k <= 0) return [];
    const terms: number[] = [];
    const qws: number[] = [];
    for (let i = 0; i < query.ids.length; i++) {
      const t = query.ids[i];
      const w = query.weights[i];
      if (w > 0 && t < this.vocabSize && this.pLen[t] > 0) {
        terms.push(t);
        qws.push(w);
      }
    }
    const n = terms.length;
    if (n === 0) return [];
    const order = terms.map((_, i) => i).sort((a, b) => qws[b] * this.maxW[terms[b]] - qws[a] * this.maxW[terms[a]]);
    // suffixUb[r] bounds what terms r.. can still add to any document
    const suffixUb = new Float64Array(n + 1);
    // suffixLen[r]: postings of terms r.. (what switching to phase 2 could save)
    const suffixLen = new Float64Array(n + 1);
    for (let r = n - 1; r >= 0; r--) {
      suffixUb[r] = (suffixUb[r + 1] + qws[order[r]] * this.maxW[terms[order[r]]]) * UB_SLACK;
      suffixLen[r] = suffixLen[r + 1] + this.pLen[terms[order[r]]];
    }
    const slots = this.docs.length;
    if (this.acc.length < slots) {
      const cap = Math.max(slots, this.acc.length * 2);
      this.acc = new Float64Array(cap);
      this.seen = new Uint8Array(cap);
      this.touched = new Uint32Array(cap);
      this.cand = new Uint32Array(cap);
    }
    const acc = this.acc;
    const seen = this.seen; // 2 marks a phase-2 candidate
    const touched = this.touched;
    let nt = 0;
    try {
      let r = 0;
      let threshold = -Infinity;
      let prefix = 0;
      let prefixAtThreshold = 0;
      // phase 1: essential terms, accumulated in full; documents met are listed once
      for (; r < n; r++) {
        const t = terms[order[r]];
        const w = qws[order[r]];
        const docs = this.pDocs[t];
        const wts = this.pWeights[t];
        for (let p = 0, len = this.pLen[t]; p < len; p++) {
          const d = docs[p];
          const a = acc[d];
          // weights are > 0, so a zero score means a first visit
          if (a === 0) touched[nt++] = d;
          acc[d] = a + w * wts[p];
        }
        prefix += w * this.maxW[t];
        // θ can only have grown by what the terms since its last computation can add (and is at
        // most `prefix` before the first), so it is only worth computing once the rest weighs less
        // than that bound, and only if the postings left outweigh the pass it takes
        const thetaBound = threshold === -Infinity ? prefix : (threshold + prefix - prefixAtThreshold) * UB_SLACK;
        if (prune && r + 1 < n && nt >= k && suffixUb[r + 1] < thetaBound && suffixLen[r + 1] > nt) {
          prefixAtThreshold = prefix;
          // many documents met: a sequential pass over the score array beats random access
          threshold = nt * 4 > slots ? this.kthLargest(k, slots, null) : this.kthLargest(k, nt, touched);
          if (suffixUb[r + 1] < threshold) {
            r++;
            break;
          }
        }
      }
      if (r >= n) return this.collect(k, nt, touched, stats);
      // phase 2: candidates are the documents met so far that can still reach θ (any other
      // document scores at most suffixUb[r] < θ)
      const cand = this.cand;
      let nc = 0;
      const need = threshold - suffixUb[r];
      const alive = this.alive;
      // candidates in ascending slot order come free from a sequential pass when many were met
      let sorted = nt * 4 > slots;
      if (sorted) {
        for (let d = 0; d < slots; d++) {
          if (acc[d] > 0 && acc[d] >= need && alive[d]) {
            cand[nc++] = d;
            seen[d] = 2;
          }
        }
      } else {
        for (let i = 0; i < nt; i++) {
          const d = touched[i];
          if (acc[d] >= need && alive[d]) {
            cand[nc++] = d;
            seen[d] = 2;
          }
        }
      }
      for (; r < n; r++) {
        const t = terms[order[r]];
        const w = qws[order[r]];
        const docs = this.pDocs[t];
        const wts = this.pWeights[t];
        const len = this.pLen[t];
        if (nc * 8 >= len) {
          // many candidates: a plain pass is cheaper than searching; extra sums on non-candidates are harmless
          for (let p = 0; p < len; p++) acc[docs[p]] += w * wts[p];
        } else {
          if (!sorted) {
            // galloping needs ascending slots: sort few candidates, collect many by a slot scan
            if (nc * 16 > slots) {
              let m = 0;
              for (let d = 0; d < slots; d++) if (seen[d] === 2) cand[m++] = d;
            } else {
              cand.subarray(0, nc).sort();
            }
            sorted = true;
          }
          this.addByGalloping(acc, cand, nc, docs, wts, len, w);
        }
        // pruning costs two passes over the candidates: worth it only before a longer list
        if (r + 1 < n && 2 * nc < this.pLen[terms[order[r + 1]]]) {
          threshold = Math.max(threshold, this.kthLargest(k, nc, cand));
          const needNext = threshold - suffixUb[r + 1];
          let m = 0;
          for (let i = 0; i < nc; i++) {
            const d = cand[i];
            if (acc[d] >= needNext) cand[m++] = d;
            else seen[d] = 0;
          }
          nc = m;
        }
      }
      return this.collect(k, nc, cand, stats);
    } finally {
      acc.fill(0, 0, slots);
      for (let i = 0; i < nt; i++) seen[touched[i]] = 0;
    }
  }

  /** Adds w·weight to each candidate (ascending slots) found in one posting list. */
  private addByGalloping(acc: Float64Array, cand: Uint32Array, nc: number, docs: Uint32Array, wts: Float32Array, len: number, w: number): void {
    let p = 0;
    for (let i = 0; i < nc && p < len; i++) {
      const d = cand[i];
      if (docs[p] < d) {
        // gallop, then binary search for the first posting ≥ d
        let step = 1;
        let hi = p + 1;
        while (hi < len && docs[hi] < d) {
          p = hi;
          step <<= 1;
          hi = p + step;
        }
        if (hi > len) hi = len;
        let lo = p + 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (docs[mid] < d) lo = mid + 1;
          else hi = mid;
        }
        p = lo;
      }
      if (p < len && docs[p] === d) acc[d] += w * wts[p];
    }
  }

  /** k-th largest live accumulated score over all slots (list null) or the listed slots. */
  private kthLargest(k: number, count: number, list: Uint32Array | null): number {
    const acc = this.acc;
    const alive = this.alive;
    const top = new Float64Array(k).fill(-Infinity); // ascending; top[0] is the k-th largest
    for (let i = 0; i < count; i++) {
      const d = list === null ? i : list[i];
      const a = acc[d];
      if (a > top[0] && a > 0 && alive[d]) {
        let j = 1;
        while (j < k && top[j] < a) {
          top[j - 1] = top[j];
          j++;
        }
        top[j - 1] = a;
      }
    }
    return top[0];
  }

  private collect(k: number, count: number, list: Uint32Array, stats?: SearchStats): Hit[] {
    const acc = this.acc;
    const alive = this.alive;
    const heap = new TopKHeap(k, this.tieBreak);
    let scored = 0;
    for (let i = 0; i < count; i++) {
      const d = list[i];
      const a = acc[d];
      if (a > 0 && alive[d]) {
        scored++;
        if (a >= heap.threshold) heap.offer(a, d);
      }
    }
    if (stats) stats.scored = scored;
    return heap.sorted();
  }

  /** Refuses an index built by another model: scores across vocabularies mean nothing. */
  assertCompatible(encoder: EncoderIdentity, indexPath = 'index'): void {
    if (encoder.vocabSize !== this.identity.vocabSize || encoder.modelHash !== this.identity.modelHash) {
      throw new SemBridgeError(
        `was built by another model (model hash ${this.identity.modelHash.slice(0, 12)}…, vocabulary ${this.identity.vocabSize}); ` +
          `the model given has hash ${encoder.modelHash.slice(0, 12)}…, vocabulary ${encoder.vocabSize}. Rebuild the index with this model (sembridge index).`,
        indexPath,
      );
    }
  }
}
