// An inverted index of learned sparse vectors with exact top-k retrieval: term-at-a-time MaxScore
// (Turtle & Flood 1995) whose threshold comes from real documents completed exactly, with the
// candidates pruned after every non-essential term. Results equal exhaustive scoring, ties
// included (test/unit/sparseIndex.test.ts); bench/index.bench.ts measures the speed against scipy.
//
// Storage is contiguous (CSC): one offsets array over the vocabulary and one array each of slots
// and weights, so a loaded index is three views on the file's bytes and there is no per-posting
// object. Added documents are staged by document (as CSR, in fixed-size chunks, never copied while
// growing) and merged into the term-ordered arrays in one counting pass before the next read.
// Documents live in slots numbered in insertion order, so every posting list stays sorted by slot.
// Removal marks a slot dead; `compact()` rewrites the lists without dead slots (done before saving
// and when more than a quarter of the slots are dead).
import { SemBridgeError } from '../errors';
import { compareBytes } from '../corpus/trecFiles';
import type { Passage, PassageSource } from '../corpus/types';
import type { EncoderIdentity } from '../encode/encoderTypes';
import type { SparseVector } from '../types';
import { TopKHeap } from './topKHeap';
import { collectGarbageNow } from '../memory';

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

/** Postings in CSC form: term t's postings are [offsets[t], offsets[t+1]) of slots / weights. */
export interface FlatPostings {
  offsets: Uint32Array;
  slots: Uint32Array;
  weights: Float32Array;
  maxW: Float32Array;
  docTable: IndexedDoc[];
}

/** An upper bound must never fall below the score it bounds, whatever the summation order. */
const UB_SLACK = 1 + 1e-9;
/** documents completed exactly for a threshold, beyond k */
const SEED_EXTRA = 10;
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_F32 = new Float32Array(0);
/**
 * Staged postings per chunk: 2^23 (32 MiB per array) puts every chunk above glibc's largest mmap
 * threshold, so that a chunk the merge has consumed goes back to the system at once (and the
 * untouched tail of the last chunk costs nothing). The merge then holds about one copy of the
 * postings, not the staged and the merged copy together (1M passages × 100 terms: 0.8 GB less).
 */
const STAGE_BITS = 23;
const STAGE_CHUNK = 1 << STAGE_BITS;

export interface SearchStats {
  /** documents scored in full */
  scored: number;
}

export class SparseIndex {
  private offsets: Uint32Array;
  private pSlots: Uint32Array;
  private pWeights: Float32Array;
  /** per term: max weight over its postings (an upper bound after removals) */
  private maxW: Float32Array;
  private docs: (IndexedDoc | null)[] = [];
  private alive: Uint8Array = new Uint8Array(0);
  private slotById = new Map<string, number>();
  private deadCount = 0;
  private postingCount = 0;

  /** documents added since the last merge: slots [stagedFrom, docs.length), postings by document */
  private stagedFrom = 0;
  private stTerms: Uint32Array[] = [];
  private stWeights: Float32Array[] = [];
  private stFill = 0;
  /** staged postings per staged document */
  private stCounts: number[] = [];

  /** per-query scratch (search is synchronous, so one set per index suffices) */
  private acc = new Float64Array(0);
  /** candidate marks, one bit per slot */
  private bits = new Uint32Array(0);
  private touched = new Uint32Array(0);
  private cand = new Uint32Array(0);
  /** phase 1's pool of the best partial scores (see shrinkPool) */
  private pool = new Uint32Array(0);
  private poolScores = new Float64Array(0);
  private poolN = 0;
  private poolM = 0;
  private bar = 0;
  /** documents completed by seedThreshold in this query (marked in doneBits), and their k best scores */
  private seedBuf = new Uint32Array(0);
  private doneBits = new Uint32Array(0);
  private doneList: number[] = [];
  private exactTop = new Float64Array(0);

  constructor(
    readonly identity: EncoderIdentity,
    /** internal use by the loader: prebuilt postings */
    prebuilt?: FlatPostings,
  ) {
    const V = identity.vocabSize;
    if (!Number.isInteger(V) || V <= 0) throw new SemBridgeError(`vocabulary size must be a positive integer, got ${V}`, 'index');
    if (prebuilt) {
      this.offsets = prebuilt.offsets;
      this.pSlots = prebuilt.slots;
      this.pWeights = prebuilt.weights;
      this.maxW = prebuilt.maxW;
      this.docs = prebuilt.docTable;
      this.alive = new Uint8Array(Math.max(16, prebuilt.docTable.length)).fill(1, 0, prebuilt.docTable.length);
      prebuilt.docTable.forEach((d, i) => {
        if (this.slotById.has(d.id)) throw new SemBridgeError(`duplicate document id '${d.id}'`, 'index');
        this.slotById.set(d.id, i);
      });
      this.postingCount = prebuilt.offsets[V];
      this.stagedFrom = prebuilt.docTable.length;
    } else {
      this.offsets = new Uint32Array(V + 1);
      this.pSlots = new Uint32Array(0);
      this.pWeights = new Float32Array(0);
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
  /** Bytes of typed-array storage the index holds (postings, bounds, flags, staging, search scratch). */
  bufferBytes(): number {
    const seen = new Set<ArrayBufferLike>();
    let total = 0;
    const add = (a: ArrayBufferView) => {
      if (!seen.has(a.buffer)) {
        seen.add(a.buffer);
        total += a.buffer.byteLength;
      }
    };
    [this.offsets, this.pSlots, this.pWeights, this.maxW, this.alive, this.acc, this.bits, this.touched, this.cand].forEach(add);
    this.stTerms.forEach(add);
    this.stWeights.forEach(add);
    return total;
  }

  postingLength(term: number): number {
    if (!(term >= 0 && term < this.vocabSize)) return 0;
    this.merge();
    return this.offsets[term + 1] - this.offsets[term];
  }

  /** Adds a passage with its vector; a passage with the same id is replaced. */
  add(passage: Passage, vec: SparseVector): void {
    const { ids, weights } = vec;
    if (ids.length !== weights.length) throw new SemBridgeError('ids and weights differ in length', `vector of '${passage.id}'`);
    const V = this.identity.vocabSize;
    let prev = -1;
    let positive = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (t >= V) throw new SemBridgeError(`term id ${t} is outside the vocabulary (${V})`, `vector of '${passage.id}'`);
      if (t <= prev) throw new SemBridgeError('term ids must be strictly ascending', `vector of '${passage.id}'`);
      prev = t;
      if (weights[i] > 0) positive++;
    }
    if (this.slotById.has(passage.id)) this.remove(passage.id);
    const slot = this.docs.length;
    let nnz = 0;
    if (positive === ids.length) {
      this.stageAll(ids, weights);
      nnz = ids.length;
    } else {
      for (let i = 0; i < ids.length; i++) {
        const w = weights[i];
        if (!(w > 0)) continue;
        this.stage(ids[i], w);
        nnz++;
      }
    }
    this.stCounts.push(nnz);
    this.postingCount += nnz;
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

  /** The chunk the next staged posting goes to (allocated when the last one is full). */
  private stagingChunk(): number {
    const c = this.stFill >>> STAGE_BITS;
    if (c === this.stTerms.length) {
      this.stTerms.push(new Uint32Array(STAGE_CHUNK));
      this.stWeights.push(new Float32Array(STAGE_CHUNK));
    }
    return c;
  }

  /** Stages a whole vector (every weight > 0) by block copies into the chunks. */
  private stageAll(ids: Uint32Array, weights: Float32Array): void {
    for (let i = 0; i < ids.length; ) {
      const c = this.stagingChunk();
      const at = this.stFill & (STAGE_CHUNK - 1);
      const m = Math.min(ids.length - i, STAGE_CHUNK - at);
      this.stTerms[c].set(ids.subarray(i, i + m), at);
      this.stWeights[c].set(weights.subarray(i, i + m), at);
      i += m;
      this.stFill += m;
    }
  }

  private stage(term: number, w: number): void {
    const c = this.stagingChunk();
    const i = this.stFill & (STAGE_CHUNK - 1);
    this.stTerms[c][i] = term;
    this.stWeights[c][i] = w;
    this.stFill++;
  }

  /** Merges staged documents into the term-ordered arrays: one counting pass, one filling pass. */
  private merge(): void {
    if (this.stCounts.length === 0) return;
    const V = this.vocabSize;
    const fill = this.stFill;
    const counts = new Uint32Array(V + 1);
    for (let t = 0; t < V; t++) counts[t] = this.offsets[t + 1] - this.offsets[t];
    // chunk by chunk: typed-array loops without a chunk lookup per posting
    for (let c = 0; c < this.stTerms.length; c++) {
      const terms = this.stTerms[c];
      for (let i = 0, e = Math.min(STAGE_CHUNK, fill - c * STAGE_CHUNK); i < e; i++) counts[terms[i]]++;
    }
    const total = this.offsets[V] + fill;
    if (total > 0xffffffff) throw new SemBridgeError('more than 2^32 postings; split the corpus', 'index');
    const offsets = new Uint32Array(V + 1);
    for (let t = 0; t < V; t++) offsets[t + 1] = offsets[t] + counts[t];
    const slots = new Uint32Array(total);
    const wts = new Float32Array(total);
    // cursor[t]: where term t's next staged posting goes, after its existing ones
    const cursor = counts;
    for (let t = 0; t < V; t++) {
      const a = this.offsets[t];
      const n = this.offsets[t + 1] - a;
      if (n > 0) {
        slots.set(this.pSlots.subarray(a, a + n), offsets[t]);
        wts.set(this.pWeights.subarray(a, a + n), offsets[t]);
      }
      cursor[t] = offsets[t] + n;
    }
    const maxW = this.maxW;
    const stCounts = this.stCounts;
    const first = this.stagedFrom;
    let d = 0;
    let left = stCounts.length > 0 ? stCounts[0] : 0;
    for (let c = 0; c < this.stTerms.length; c++) {
      const terms = this.stTerms[c];
      const ws = this.stWeights[c];
      for (let i = 0, e = Math.min(STAGE_CHUNK, fill - c * STAGE_CHUNK); i < e; i++) {
        while (left === 0) left = stCounts[++d];
        left--;
        const t = terms[i];
        const w = ws[i];
        const p = cursor[t]++;
        slots[p] = first + d;
        wts[p] = w;
        if (w > maxW[t]) maxW[t] = w;
      }
      // the chunk is consumed: let it go before the next is read. The loop allocates nothing, so
      // V8 would not collect it before the merge ends: the untouched pages of the merged arrays
      // fill as the chunks empty, and the two add up only if the chunks are collected here.
      this.stTerms[c] = EMPTY_U32;
      this.stWeights[c] = EMPTY_F32;
      if (fill > STAGE_CHUNK) collectGarbageNow();
    }
    this.offsets = offsets;
    this.pSlots = slots;
    this.pWeights = wts;
    this.stTerms = [];
    this.stWeights = [];
    this.stFill = 0;
    this.stCounts = [];
    this.stagedFrom = this.docs.length;
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
    this.merge();
    if (this.deadCount === 0) return;
    const V = this.vocabSize;
    const newSlot = new Int32Array(this.docs.length).fill(-1);
    const docs: IndexedDoc[] = [];
    this.docs.forEach((d, s) => {
      if (d) {
        newSlot[s] = docs.length;
        docs.push(d);
      }
    });
    const os = this.pSlots;
    const ow = this.pWeights;
    let live = 0;
    for (let p = 0, n = this.offsets[V]; p < n; p++) if (newSlot[os[p]] >= 0) live++;
    const offsets = new Uint32Array(V + 1);
    const slots = new Uint32Array(live);
    const wts = new Float32Array(live);
    let j = 0;
    for (let t = 0; t < V; t++) {
      let m = 0;
      for (let p = this.offsets[t], end = this.offsets[t + 1]; p < end; p++) {
        const s = newSlot[os[p]];
        if (s >= 0) {
          slots[j] = s;
          wts[j] = ow[p];
          if (ow[p] > m) m = ow[p];
          j++;
        }
      }
      offsets[t + 1] = j;
      this.maxW[t] = m;
    }
    this.offsets = offsets;
    this.pSlots = slots;
    this.pWeights = wts;
    this.docs = docs;
    this.alive = new Uint8Array(Math.max(16, docs.length)).fill(1, 0, docs.length);
    this.slotById = new Map(docs.map((d, i) => [d.id, i]));
    this.deadCount = 0;
    this.postingCount = live;
    this.stagedFrom = docs.length;
  }

  /** Exact postings without removed documents (for saving). */
  exportPostings(): FlatPostings {
    this.compact();
    return { offsets: this.offsets, slots: this.pSlots, weights: this.pWeights, maxW: this.maxW, docTable: this.docs as IndexedDoc[] };
  }

  /** trec_eval tie order: the larger document id (strcmp) ranks first. */
  private readonly tieBreak = (a: number, b: number): number => compareBytes(this.docs[a]!.id, this.docs[b]!.id);

  /** First posting index in [lo, hi) of term list whose slot is ≥ slot. */
  private lowerBound(lo: number, hi: number, slot: number): number {
    const s = this.pSlots;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < slot) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Weight of `term` in the document at `slot` (0 if absent), by binary search in the postings. */
  weightOf(slot: number, term: number): number {
    if (!(term >= 0 && term < this.vocabSize)) return 0;
    this.merge();
    const end = this.offsets[term + 1];
    const p = this.lowerBound(this.offsets[term], end, slot);
    return p < end && this.pSlots[p] === slot ? this.pWeights[p] : 0;
  }

  /**
   * Exact top-k, best first (score desc, then id desc). Term-at-a-time MaxScore (Turtle & Flood
   * 1995) with a threshold θ taken from real documents:
   *  1. terms are taken in decreasing order of their bound q_j·max w_j and accumulated in full
   *     ("essential" terms) until the bounds of the remaining terms sum to less than θ: then no
   *     document unmet so far can enter the top k. θ is the k-th best *exact* score of the
   *     documents with the best partial scores (completed by galloping search in the remaining
   *     lists), recomputed only when the next list is longer than such a pass costs;
   *  2. a document met so far stays a candidate only if its partial score plus what the remaining
   *     terms can add reaches θ; the remaining terms update the candidates only (a plain pass when
   *     candidates are dense in the list, galloping search otherwise), and after each term the
   *     candidates are pruned against the bound of the terms left, θ raised from their partial
   *     scores on the way.
   * Term-at-a-time suits learned sparse weights, which defeat document-at-a-time skipping
   * (Mackenzie et al., "Wacky Weights"), and is cheap in JavaScript (one typed-array pass per list).
   * Every document's score is the same float64 sum, in the same term order, as exhaustive scoring,
   * so results are equal bit for bit, ties included.
   */
  search(query: SparseVector, k: number, stats?: SearchStats): Hit[] {
    if (stats) stats.scored = 0;
    const q = this.queryTerms(query);
    if (k <= 0 || !q) return [];
    const { terms, qws } = q;
    const n = terms.length;
    const off = this.offsets;
    // suffixUb[r] bounds what terms r.. can still add to any document
    const suffixUb = new Float64Array(n + 1);
    // suffixLen[r]: postings of terms r.. (what stopping phase 1 before r could save)
    const suffixLen = new Float64Array(n + 1);
    for (let r = n - 1; r >= 0; r--) {
      suffixUb[r] = (suffixUb[r + 1] + qws[r] * this.maxW[terms[r]]) * UB_SLACK;
      suffixLen[r] = suffixLen[r + 1] + off[terms[r] + 1] - off[terms[r]];
    }
    const slots = this.docs.length;
    this.ensureScratch(slots);
    const acc = this.acc;
    const touched = this.touched;
    const m = Math.min(k + SEED_EXTRA, 2 * k);
    this.startPool(m, k);
    // dense: so many documents met that the touched list is dropped and passes go over all slots
    let dense = false;
    let nt = 0;
    let theta = -Infinity;
    try {
      let r = 0;
      // postings read since θ was last computed: θ passes never cost more than the postings read
      let since = Infinity;
      for (; r < n; r++) {
        if (suffixUb[r] < theta) break;
        const t = terms[r];
        const l = off[t + 1] - off[t];
        // a θ pass costs m galloping searches per list left: worth it when the postings left
        // outweigh it
        const cost = m * (n - r) * 16;
        if (r > 0 && since + l >= cost && suffixLen[r] >= 2 * cost) {
          theta = Math.max(theta, this.seedThreshold(terms, qws, r));
          since = 0;
          if (suffixUb[r] < theta) break;
          // when the lists phase 2 could skip are under a quarter of those left, pruning cannot pay
          // for its bookkeeping: finish with the plain exhaustive pass (once a quarter of the
          // postings are read, so that θ is no longer an early guess)
          let rh = r;
          while (rh < n && suffixUb[rh] >= theta) rh++;
          if (4 * suffixLen[rh] < suffixLen[r] && 4 * (suffixLen[0] - suffixLen[r]) >= suffixLen[0]) {
            for (; r < n; r++) this.addDense(terms[r], qws[r]);
            dense = true;
            return this.collect(k, slots, null, stats);
          }
        }
        since += l;
        if (dense) this.accumulateDense(t, qws[r]);
        else {
          nt = this.accumulate(t, qws[r], nt);
          if (nt * 2 > slots) dense = true;
        }
      }
      const list = dense ? null : touched;
      const met = dense ? slots : nt;
      if (r >= n) return this.collect(k, met, list, stats);
      return this.complete(k, list, met, terms, qws, r, theta, suffixUb, suffixLen, stats);
    } finally {
      this.endPool();
      if (dense || nt * 8 > slots) acc.fill(0, 0, slots);
      else for (let i = 0; i < nt; i++) acc[touched[i]] = 0;
    }
  }

  /**
   * Phase 1 for one term: adds w·weight to every posting; returns the new count of touched
   * documents. A document whose partial score rises above the pool's bar is listed in the pool.
   */
  private accumulate(t: number, w: number, nt: number): number {
    const acc = this.acc;
    const touched = this.touched;
    const slots = this.pSlots;
    const wts = this.pWeights;
    const pool = this.pool;
    const cap = pool.length;
    let pn = this.poolN;
    let bar = this.bar;
    for (let p = this.offsets[t], end = this.offsets[t + 1]; p < end; p++) {
      const d = slots[p];
      const a = acc[d];
      // weights are > 0, so a zero score means a first visit
      if (a === 0) touched[nt++] = d;
      const s = a + w * wts[p];
      acc[d] = s;
      if (s > bar) {
        pool[pn++] = d;
        if (pn === cap) {
          this.poolN = pn;
          this.shrinkPool();
          pn = this.poolN;
          bar = this.bar;
        }
      }
    }
    this.poolN = pn;
    return nt;
  }

  private accumulateDense(t: number, w: number): void {
    const acc = this.acc;
    const slots = this.pSlots;
    const wts = this.pWeights;
    const pool = this.pool;
    const cap = pool.length;
    let pn = this.poolN;
    let bar = this.bar;
    for (let p = this.offsets[t], end = this.offsets[t + 1]; p < end; p++) {
      const d = slots[p];
      const s = acc[d] + w * wts[p];
      acc[d] = s;
      if (s > bar) {
        pool[pn++] = d;
        if (pn === cap) {
          this.poolN = pn;
          this.shrinkPool();
          pn = this.poolN;
          bar = this.bar;
        }
      }
    }
    this.poolN = pn;
  }

  /** Adds w·weight to every posting of t, as exhaustive scoring does. */
  private addDense(t: number, w: number): void {
    const acc = this.acc;
    const slots = this.pSlots;
    const wts = this.pWeights;
    for (let p = this.offsets[t], end = this.offsets[t + 1]; p < end; p++) acc[slots[p]] += w * wts[p];
  }

  private startPool(m: number, k: number): void {
    this.poolM = m;
    if (this.pool.length !== 4 * m) {
      this.pool = new Uint32Array(4 * m);
      this.poolScores = new Float64Array(4 * m);
      this.seedBuf = new Uint32Array(4 * m);
    }
    this.poolN = 0;
    this.bar = 0;
    this.exactTop = new Float64Array(k).fill(-Infinity);
    if (this.doneBits.length < this.bits.length) this.doneBits = new Uint32Array(this.bits.length);
  }

  /** Clears the per-query marks of completed documents. */
  private endPool(): void {
    const done = this.doneBits;
    for (const d of this.doneList) done[d >>> 5] = 0;
    this.doneList.length = 0;
  }

  /**
   * Keeps the best m distinct live documents of the pool and raises the bar to the m-th best
   * score. Invariant: every live document whose partial score exceeds the bar is in the pool (a
   * document dropped here is at or below the new bar and can only rise above it by a later
   * update, which lists it again), so the pool always holds the documents with the best partial
   * scores.
   */
  private shrinkPool(): void {
    const pool = this.pool;
    const acc = this.acc;
    const bits = this.bits;
    const alive = this.alive;
    const checkAlive = this.deadCount > 0;
    const m = this.poolM;
    let u = 0;
    for (let i = 0; i < this.poolN; i++) {
      const d = pool[i];
      const b = 1 << (d & 31);
      if (bits[d >>> 5] & b || (checkAlive && !alive[d])) continue;
      bits[d >>> 5] |= b;
      pool[u++] = d;
    }
    // the bitset is free in phase 1: clear what was used for the repeats
    for (let i = 0; i < u; i++) bits[pool[i] >>> 5] = 0;
    if (u > m) {
      const sc = this.poolScores.subarray(0, u);
      for (let i = 0; i < u; i++) sc[i] = acc[pool[i]];
      sc.sort();
      const bar = sc[u - m];
      let j = 0;
      for (let i = 0; i < u; i++) if (acc[pool[i]] > bar) pool[j++] = pool[i];
      // equal to the bar: not needed by the invariant, kept (up to m) as seeds
      for (let i = 0; i < u && j < m; i++) if (acc[pool[i]] === bar) pool[j++] = pool[i];
      u = j;
      this.bar = bar;
    }
    this.poolN = u;
  }

  /**
   * A lower bound of the final k-th score: the pooled documents (the best partial scores) are
   * completed over terms r.. by galloping search, each document once per query, and the k-th best
   * of those scores is returned (−∞ while fewer than k). A completed score is a real document's
   * score, or below it when its partial score missed a term in phase 2's tests: either way a
   * lower bound.
   */
  private seedThreshold(terms: Uint32Array, qws: Float64Array, r: number): number {
    this.shrinkPool();
    const pool = this.pool;
    const done = this.doneBits;
    const seeds = this.seedBuf;
    let ns = 0;
    for (let i = 0; i < this.poolN; i++) {
      const d = pool[i];
      if ((done[d >>> 5] >>> (d & 31)) & 1) continue;
      done[d >>> 5] |= 1 << (d & 31);
      // ascending slots for galloping (few: insertion sort)
      let j = ns++;
      while (j > 0 && seeds[j - 1] > d) {
        seeds[j] = seeds[j - 1];
        j--;
      }
      seeds[j] = d;
    }
    const top = this.exactTop;
    if (ns === 0) return top[0];
    const list = seeds.subarray(0, ns);
    const sums = this.poolScores.subarray(0, ns);
    for (let i = 0; i < ns; i++) sums[i] = this.acc[list[i]];
    for (let j = r; j < terms.length; j++) this.addByGalloping(sums, list, ns, terms[j], qws[j]);
    const k = top.length;
    for (let i = 0; i < ns; i++) {
      this.doneList.push(list[i]);
      const a = sums[i];
      if (a > top[0]) {
        let h = 1;
        while (h < k && top[h] < a) {
          top[h - 1] = top[h];
          h++;
        }
        top[h - 1] = a;
      }
    }
    return top[0];
  }

  /**
   * Phase 2: the terms r.. are added only to candidates, the documents met whose partial score
   * plus what the terms left can add reaches θ (a + suffixUb[r] ≥ θ). While candidates are many,
   * they are not listed: each list is walked and a document is updated only if it still passes
   * that test (a document that fails once never passes again, since θ only grows and the bound
   * only shrinks). Once few enough remain, they are listed, found in the lists by galloping
   * search and pruned after every term.
   */
  private complete(
    k: number,
    list: Uint32Array | null,
    count: number,
    terms: Uint32Array,
    qws: Float64Array,
    r: number,
    theta: number,
    suffixUb: Float64Array,
    suffixLen: Float64Array,
    stats?: SearchStats,
  ): Hit[] {
    const n = terms.length;
    const off = this.offsets;
    const slots = this.docs.length;
    // estimated candidates: all documents met until a walk measures their share
    let est = count;
    for (; r < n; r++) {
      const t = terms[r];
      const l = off[t + 1] - off[t];
      // listing costs a pass over the documents met: worth it once galloping beats walking
      if (est * 8 < l && count < suffixLen[r]) return this.completeListed(k, list, count, terms, qws, r, theta, suffixUb, stats);
      if (l >= this.poolM * (n - r) * 16) theta = Math.max(theta, this.seedThreshold(terms, qws, r));
      // a + ub ≥ θ/(1+ε) keeps every document whose bound reaches θ, whatever the rounding
      const passed = this.addIfCandidate(t, qws[r], theta / UB_SLACK - suffixUb[r]);
      if (l >= 64) est = (passed / l) * slots;
    }
    // every document that failed a test is below θ/(1+ε) − (a positive bound): not collected
    return this.collect(k, count, list, stats, theta / UB_SLACK);
  }

  /** Adds w·weight to each document of t's postings whose score reaches `need`; returns how many did. */
  private addIfCandidate(t: number, w: number, need: number): number {
    const acc = this.acc;
    const slots = this.pSlots;
    const wts = this.pWeights;
    const pool = this.pool;
    const cap = pool.length;
    let pn = this.poolN;
    let bar = this.bar;
    let passed = 0;
    for (let p = this.offsets[t], end = this.offsets[t + 1]; p < end; p++) {
      const d = slots[p];
      const a = acc[d];
      if (a >= need) {
        passed++;
        const s = a + w * wts[p];
        acc[d] = s;
        if (s > bar) {
          pool[pn++] = d;
          if (pn === cap) {
            this.poolN = pn;
            this.shrinkPool();
            pn = this.poolN;
            bar = this.bar;
          }
        }
      }
    }
    this.poolN = pn;
    return passed;
  }

  /** Phase 2 with the candidates listed (ascending slots), pruned after every term. */
  private completeListed(
    k: number,
    list: Uint32Array | null,
    count: number,
    terms: Uint32Array,
    qws: Float64Array,
    r: number,
    theta: number,
    suffixUb: Float64Array,
    stats?: SearchStats,
  ): Hit[] {
    const n = terms.length;
    const off = this.offsets;
    const acc = this.acc;
    const cand = this.cand;
    const alive = this.alive;
    const checkAlive = this.deadCount > 0;
    let need = theta / UB_SLACK - suffixUb[r];
    let nc = 0;
    if (list === null) {
      for (let d = 0; d < count; d++) {
        const a = acc[d];
        if (a > 0 && a >= need && (!checkAlive || alive[d])) cand[nc++] = d;
      }
    } else {
      for (let i = 0; i < count; i++) {
        const d = list[i];
        if (acc[d] >= need && (!checkAlive || alive[d])) cand[nc++] = d;
      }
    }
    // candidates marked in a bitset (slots/8 bytes, cache-resident) and listed in ascending slot
    // order, which galloping needs: a scan of the bitset's words beats sorting the list
    const words = (this.docs.length + 31) >>> 5;
    const bits = this.bits;
    for (let i = 0; i < nc; i++) bits[cand[i] >>> 5] |= 1 << (cand[i] & 31);
    if (list !== null) {
      nc = 0;
      for (let wi = 0; wi < words; wi++) {
        let x = bits[wi];
        while (x !== 0) {
          const low = x & -x;
          cand[nc++] = (wi << 5) | (31 - Math.clz32(low));
          x ^= low;
        }
      }
    }
    const top = new Float64Array(k);
    try {
      for (; r < n && nc > 0; r++) {
        const t = terms[r];
        const w = qws[r];
        const l = off[t + 1] - off[t];
        // many candidates: one plain pass over the list, candidates found by their bit
        if (nc * 8 >= l) this.addToCandidates(off[t], l, w);
        else this.addByGalloping(acc, cand, nc, t, w);
        if (r + 1 === n) break;
        // prune against what the terms left can add; the k-th best partial score on the way
        // is a lower bound of the final k-th score for the next prune
        need = theta / UB_SLACK - suffixUb[r + 1];
        top.fill(-Infinity);
        let j = 0;
        for (let i = 0; i < nc; i++) {
          const d = cand[i];
          const a = acc[d];
          if (a >= need) {
            cand[j++] = d;
            if (a > top[0]) {
              let h = 1;
              while (h < k && top[h] < a) {
                top[h - 1] = top[h];
                h++;
              }
              top[h - 1] = a;
            }
          } else bits[d >>> 5] &= ~(1 << (d & 31));
        }
        nc = j;
        if (top[0] > theta) theta = top[0];
      }
      return this.collect(k, nc, cand, stats);
    } finally {
      for (let i = 0; i < nc; i++) bits[cand[i] >>> 5] = 0;
    }
  }

  /** Adds w·weight to the candidates (their bits set) met in postings [a0, a0 + len), in one plain pass. */
  private addToCandidates(a0: number, len: number, w: number): void {
    const acc = this.acc;
    const bits = this.bits;
    const slots = this.pSlots;
    const wts = this.pWeights;
    for (let p = a0, end = a0 + len; p < end; p++) {
      const d = slots[p];
      if ((bits[d >>> 5] >>> (d & 31)) & 1) acc[d] += w * wts[p];
    }
  }

  /** Adds w·weight of term t to sums[i] for each listed slot cand[i] (ascending) found in t's postings. */
  private addByGalloping(sums: Float64Array, cand: Uint32Array, nc: number, t: number, w: number): void {
    const docs = this.pSlots;
    const wts = this.pWeights;
    const end = this.offsets[t + 1];
    const own = sums === this.acc;
    let p = this.offsets[t];
    for (let i = 0; i < nc && p < end; i++) {
      const d = cand[i];
      if (docs[p] < d) {
        // gallop, then binary search for the first posting ≥ d
        let step = 1;
        let hi = p + 1;
        while (hi < end && docs[hi] < d) {
          p = hi;
          step <<= 1;
          hi = p + step;
        }
        if (hi > end) hi = end;
        let lo = p + 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (docs[mid] < d) lo = mid + 1;
          else hi = mid;
        }
        p = lo;
      }
      if (p < end && docs[p] === d) {
        if (own) sums[d] += w * wts[p];
        else sums[i] += w * wts[p];
      }
    }
  }

  /** Top k of the live accumulated scores among the listed slots (list null: all slots below count). */
  private collect(k: number, count: number, list: Uint32Array | null, stats?: SearchStats, floor = 0): Hit[] {
    const acc = this.acc;
    const alive = this.alive;
    const heap = new TopKHeap(k, this.tieBreak);
    let scored = 0;
    for (let i = 0; i < count; i++) {
      const d = list === null ? i : list[i];
      const a = acc[d];
      if (a > 0 && a >= floor && alive[d]) {
        scored++;
        if (a >= heap.threshold) heap.offer(a, d);
      }
    }
    if (stats) stats.scored = scored;
    return heap.sorted();
  }

  /** Reference: scores every document term-at-a-time, then takes the top k (same order rules). */
  exhaustiveSearch(query: SparseVector, k: number, stats?: SearchStats): Hit[] {
    if (stats) stats.scored = 0;
    const q = this.queryTerms(query);
    if (k <= 0 || !q) return [];
    return this.scoreAll(q.terms, q.qws, k, stats);
  }

  private scoreAll(terms: Uint32Array, qws: Float64Array, k: number, stats?: SearchStats): Hit[] {
    const slots = this.docs.length;
    this.ensureScratch(slots);
    const acc = this.acc;
    const off = this.offsets;
    const pSlots = this.pSlots;
    const pW = this.pWeights;
    for (let i = 0; i < terms.length; i++) {
      const w = qws[i];
      for (let p = off[terms[i]], end = off[terms[i] + 1]; p < end; p++) acc[pSlots[p]] += w * pW[p];
    }
    const heap = new TopKHeap(k, this.tieBreak);
    const alive = this.alive;
    let scored = 0;
    for (let d = 0; d < slots; d++) {
      const a = acc[d];
      if (a > 0 && alive[d]) {
        scored++;
        if (a >= heap.threshold) heap.offer(a, d);
      }
    }
    acc.fill(0, 0, slots);
    if (stats) stats.scored = scored;
    return heap.sorted();
  }

  private ensureScratch(slots: number): void {
    if (this.acc.length >= slots) return;
    const cap = Math.max(slots, this.acc.length * 2);
    this.acc = new Float64Array(cap);
    this.bits = new Uint32Array((cap + 31) >>> 5);
    this.touched = new Uint32Array(cap);
    this.cand = new Uint32Array(cap);
  }

  /**
   * The query's terms that have postings, in decreasing order of their bound q_j · max w_j (the
   * order both searches add terms in, so their float64 sums agree bit for bit).
   */
  private queryTerms(query: SparseVector): { terms: Uint32Array; qws: Float64Array } | null {
    this.merge();
    const idx: number[] = [];
    for (let i = 0; i < query.ids.length; i++) {
      const t = query.ids[i];
      if (query.weights[i] > 0 && t < this.vocabSize && this.offsets[t + 1] > this.offsets[t]) idx.push(i);
    }
    if (idx.length === 0) return null;
    const bound = (i: number) => query.weights[i] * this.maxW[query.ids[i]];
    idx.sort((a, b) => bound(b) - bound(a));
    return { terms: Uint32Array.from(idx, (i) => query.ids[i]), qws: Float64Array.from(idx, (i) => query.weights[i]) };
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
