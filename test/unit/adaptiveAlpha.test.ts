// Adaptive α (`--alpha auto`): the per-token rule (support in range when reachable, the nearest end
// of [1.5, 8] when not, α = 4 kept when already in range, the α closest to 4 otherwise) and the
// result of the whole search, which must equal fixed-α entmax at each row's chosen α.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALPHA_AUTO_HIGH,
  ALPHA_AUTO_LOW,
  ALPHA_AUTO_START,
  ALPHA_AUTO_STEP,
  chooseAlpha,
  chooseAlphas,
  parseAlphaAutoRange,
  summarizeAlphaAuto,
} from '../../src/core/adaptiveAlpha';
import { entmax, entmaxSupportSize } from '../../src/core/entmax';
import { MatmulEngine } from '../../src/core/matmul';
import { Rng } from '../../src/core/random';
import { initializeNewTokens } from '../../src/core/reconstruct';
import { entmaxOverAllSources, prepareSourceIndex } from '../../src/core/similarity';
import type { Matrix } from '../../src/core/types';

let engine: MatmulEngine | undefined;
async function getEngine(): Promise<MatmulEngine> {
  engine ??= await MatmulEngine.create({ threads: 1 });
  return engine;
}
after(async () => engine?.release());

const RANGE = { min: 2, max: 16 };
const support = (list: ArrayLike<number>, alpha: number) => entmaxSupportSize(list, alpha);
const onGrid = (a: number) => Number.isInteger((a - ALPHA_AUTO_LOW) / ALPHA_AUTO_STEP) && a >= ALPHA_AUTO_LOW && a <= ALPHA_AUTO_HIGH;

/** 60 descending cosines: a top score, a gap, then a block spread over `spread` */
function list(rng: Rng, gap: number, spread: number): Float64Array {
  const v = Array.from({ length: 59 }, () => 0.9 - gap - spread * rng.nextFloat());
  return Float64Array.from([0.9, ...v.sort((a, b) => b - a)]);
}

test('α = 4 is kept when the support at 4 is already in range', () => {
  const rng = new Rng(1, 1);
  let seen = 0;
  for (let i = 0; i < 200; i++) {
    const l = list(rng, 0.05 * rng.nextFloat(), 0.2 * rng.nextFloat());
    const s4 = support(l, 4);
    if (s4 < RANGE.min || s4 > RANGE.max) continue;
    seen++;
    assert.deepEqual(chooseAlpha(l, RANGE), { alpha: ALPHA_AUTO_START, support: s4 });
  }
  assert.ok(seen > 50, `only ${seen} lists in range at α = 4`);
});

test('a support above the range raises α to the smallest grid α that brings it into range', () => {
  const rng = new Rng(2, 1);
  let seen = 0;
  for (let i = 0; i < 200; i++) {
    // near-ties at 1e-6..1e-4: support > 16 at α = 4, reachable by α = 8
    const l = list(rng, 0, 10 ** (-6 + 2 * rng.nextFloat()));
    if (support(l, 4) <= RANGE.max || support(l, ALPHA_AUTO_HIGH) > RANGE.max) continue;
    seen++;
    const c = chooseAlpha(l, RANGE);
    assert.ok(c.alpha > ALPHA_AUTO_START && onGrid(c.alpha), `α ${c.alpha}`);
    assert.equal(c.support, support(l, c.alpha));
    assert.ok(c.support >= RANGE.min && c.support <= RANGE.max, `support ${c.support} at α ${c.alpha}`);
    // closest to 4: one grid step less is still above the range
    assert.ok(support(l, c.alpha - ALPHA_AUTO_STEP) > RANGE.max);
  }
  assert.ok(seen > 50, `only ${seen} lists raised`);
});

test('a support below the range lowers α to the largest grid α that brings it into range', () => {
  const rng = new Rng(3, 1);
  let seen = 0;
  for (let i = 0; i < 200; i++) {
    // one clear winner (gap ≥ 1/3 on the cosine scale): support 1 at α = 4, more at α = 1.5
    const l = list(rng, 0.35 + 0.6 * rng.nextFloat(), 0.3 * rng.nextFloat());
    if (support(l, 4) >= RANGE.min || support(l, ALPHA_AUTO_LOW) < RANGE.min) continue;
    seen++;
    const c = chooseAlpha(l, RANGE);
    assert.ok(c.alpha < ALPHA_AUTO_START && onGrid(c.alpha), `α ${c.alpha}`);
    assert.equal(c.support, support(l, c.alpha));
    assert.ok(c.support >= RANGE.min && c.support <= RANGE.max);
    assert.ok(support(l, c.alpha + ALPHA_AUTO_STEP) < RANGE.min);
  }
  assert.ok(seen > 50, `only ${seen} lists lowered`);
});

test('when no α in [1.5, 8] reaches the range, the nearest end is taken', () => {
  // 40 exact ties: every α keeps all 40 (above the range) -> 8
  assert.deepEqual(chooseAlpha(new Float64Array(40).fill(0.5), RANGE), { alpha: ALPHA_AUTO_HIGH, support: 40 });
  // two candidates for a range from 3: below it at every α -> 1.5, where the support is largest
  const two = Float64Array.from([0.9, 0.3]);
  assert.deepEqual(chooseAlpha(two, { min: 3, max: 16 }), { alpha: ALPHA_AUTO_LOW, support: 2 });
  // a clear winner (support 1 at α = 4) that the range [1, 1] accepts keeps α = 4
  const winner = Float64Array.from([0.9, 0.2, 0.1, 0.05]);
  assert.equal(support(winner, 4), 1);
  assert.deepEqual(chooseAlpha(winner, { min: 1, max: 1 }), { alpha: 4, support: 1 });
  // a single candidate
  assert.equal(chooseAlpha(Float64Array.from([0.5]), { min: 2, max: 4 }).alpha, ALPHA_AUTO_LOW);
});

test('--alpha-auto-support parsing refuses what is not MIN-MAX with 1 ≤ MIN ≤ MAX', () => {
  assert.deepEqual(parseAlphaAutoRange('2-16'), { min: 2, max: 16 });
  assert.deepEqual(parseAlphaAutoRange(' 3 - 3 '), { min: 3, max: 3 });
  assert.throws(() => parseAlphaAutoRange('16-2'), /--alpha-auto-support: the support range must be/);
  assert.throws(() => parseAlphaAutoRange('0-4'), /support range/);
  assert.throws(() => parseAlphaAutoRange('2..16'), /must be MIN-MAX/);
  assert.throws(() => parseAlphaAutoRange('1-100000'), /≤ 4096/);
});

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  rng.fillNormal(data);
  return { rows, cols, data };
}

/** targets close to a few sources, plus near-duplicates of one source (large supports) */
function targets(rng: Rng, source: Matrix, n: number): Matrix {
  const d = source.cols;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    // every 4th row: one source plus little noise (support 1 at α = 4); others: mixtures of up to 6
    const m = i % 4 === 1 ? 1 : 1 + Math.floor(rng.nextFloat() * 6);
    for (let k = 0; k < m; k++) {
      const s = Math.floor(rng.nextFloat() * source.rows);
      for (let j = 0; j < d; j++) data[i * d + j] += (0.5 + rng.nextFloat()) * source.data[s * d + j];
    }
    const noise = [0.3, 0.01, 1, 3][i % 4];
    for (let j = 0; j < d; j++) data[i * d + j] += noise * rng.nextNormal();
  }
  return { rows: n, cols: d, data };
}

test('the search at per-row α equals fixed-α entmax at each chosen α (bit for bit), and the supports land in range', async () => {
  const rng = new Rng(7, 1);
  const d = 32;
  // 400 sources, 40 of them near-copies of source 0: targets near it have many near-tied neighbours
  const source = randomMatrix(rng, 400, d);
  for (let s = 1; s <= 40; s++) for (let j = 0; j < d; j++) source.data[s * d + j] = source.data[j] + 1e-3 * rng.nextNormal();
  const target = targets(rng, source, 60);
  // rows 0, 4, 8, …: on the cluster (many near-tied neighbours)
  for (let t = 0; t < 60; t += 4) for (let j = 0; j < d; j++) target.data[t * d + j] = source.data[j] + 1e-4 * rng.nextNormal();
  const index = prepareSourceIndex(source);
  const eng = await getEngine();
  const choice = await chooseAlphas(target, index, { range: RANGE, engine: eng });
  const search = await entmaxOverAllSources(target, index, { alpha: 4, rowAlphas: choice.alphas, engine: eng });
  let moved = 0;
  for (let t = 0; t < target.rows; t++) {
    const a = choice.alphas[t];
    if (a !== 4) moved++;
    const row = search.rows[t]!;
    assert.equal(row.ids.length, choice.supports[t], `row ${t}: the support the rule saw is the final one`);
    const fixed = await entmaxOverAllSources({ rows: 1, cols: d, data: target.data.slice(t * d, (t + 1) * d) }, index, { alpha: a, engine: eng });
    const f = fixed.rows[0]!;
    assert.deepEqual(Array.from(row.ids), Array.from(f.ids), `row ${t} ids at α ${a}`);
    assert.deepEqual(Array.from(row.weights), Array.from(f.weights), `row ${t} weights at α ${a}`);
    // and the reference: entmax over every float64 cosine of the row
    const ref = entmax(fullCosines(target, t, source), a);
    assert.equal(ref.support, row.ids.length, `row ${t} support vs the full-row reference`);
    for (let k = 0; k < row.ids.length; k++) assert.ok(Math.abs(ref.weights[row.ids[k]] - row.weights[k]) < 1e-6);
    const inRange = row.ids.length >= RANGE.min && row.ids.length <= RANGE.max;
    if (!inRange) assert.ok(a === ALPHA_AUTO_HIGH || a === ALPHA_AUTO_LOW, `row ${t}: support ${row.ids.length} out of range at α ${a}, not an end`);
  }
  assert.ok(moved > 10, `only ${moved} rows moved off α = 4`);
  for (let t = 0; t < 60; t += 4) assert.ok(choice.alphas[t] > 4, `row ${t} on the near-tied cluster is raised`);
  assert.ok([...choice.alphas].some((a) => a < 4), 'some row is lowered');
});

test('initializeNewTokens with alphaAuto records each row α; a row α equal for all gives the fixed-α rows exactly', async () => {
  const rng = new Rng(9, 1);
  const d = 8;
  const sourceBridge = randomMatrix(rng, 200, d);
  const sourceEmbeddings = randomMatrix(rng, 200, 12);
  const targetBridge = targets(rng, sourceBridge, 30);
  const eng = await getEngine();
  const auto = await initializeNewTokens('sembridge', { sourceEmbeddings, sourceBridge, targetBridge, alpha: 4, alphaAuto: RANGE, engine: eng });
  assert.equal(auto.alphas?.length, 30);
  const s = summarizeAlphaAuto(auto.alphas!, auto.supportSize, RANGE);
  assert.equal(s.tokens, 30);
  assert.equal(s.keptAtStart + s.moved, 30);
  assert.equal(Object.values(s.histogram).reduce((a, b) => a + b, 0), 30);
  assert.ok(s.quantiles && s.quantiles.min >= ALPHA_AUTO_LOW && s.quantiles.max <= ALPHA_AUTO_HIGH);
  // rows at α = 4 equal the fixed α = 4 transfer's rows, bit for bit
  const fixed = await initializeNewTokens('sembridge', { sourceEmbeddings, sourceBridge, targetBridge, alpha: 4, engine: eng });
  assert.equal(fixed.alphas, undefined, 'a fixed α records no per-row α');
  let kept = 0;
  for (let t = 0; t < 30; t++) {
    if (auto.alphas![t] !== 4) continue;
    kept++;
    assert.deepEqual(auto.embeddings.data.subarray(t * 12, (t + 1) * 12), fixed.embeddings.data.subarray(t * 12, (t + 1) * 12));
  }
  assert.equal(kept, s.keptAtStart);
  // a rowAlphas of the fixed value changes nothing
  const index = prepareSourceIndex(sourceBridge);
  const a = await entmaxOverAllSources(targetBridge, index, { alpha: 3, engine: eng });
  const b = await entmaxOverAllSources(targetBridge, index, { alpha: 3, rowAlphas: new Float64Array(30).fill(3), engine: eng });
  assert.deepEqual(b.rows, a.rows);
  await assert.rejects(entmaxOverAllSources(targetBridge, index, { alpha: 3, rowAlphas: new Float64Array(3).fill(3), engine: eng }), /rowAlphas: 3 values for 30 target rows/);
  await assert.rejects(initializeNewTokens('sembridge', { sourceEmbeddings, sourceBridge, targetBridge, alpha: 4, alphaAuto: { min: 5, max: 2 } }), /alphaAuto: the support range/);
});

/** float64 cosines of target row t against every source row */
function fullCosines(target: Matrix, t: number, source: Matrix): Float64Array {
  const d = target.cols;
  let tn = 0;
  for (let j = 0; j < d; j++) tn += target.data[t * d + j] ** 2;
  return Float64Array.from({ length: source.rows }, (_, s) => {
    let dot = 0;
    let sn = 0;
    for (let j = 0; j < d; j++) {
      dot += target.data[t * d + j] * source.data[s * d + j];
      sn += source.data[s * d + j] ** 2;
    }
    return dot / Math.sqrt(tn * sn);
  });
}
