// The cases of the seeded fuzz suite (test/integration/fuzz.test.ts, which runs them in child
// processes through test/helpers/fuzzChild.ts). Seeded fuzzing of every kind of input the CLI reads. Each case copies one input, damages it with a
// mutation from test/helpers/fuzzMutator.ts, runs the CLI in-process, and requires either a clean
// refusal (non-zero exit, a message naming the file, no stack trace) or a correct success (finite
// outputs that pass the kind's check); never a crash, a hang, an output or temp folder left behind
// by a refusal, or a changed input. Counts per input kind are printed for the closing note.
// FUZZ_SEED and FUZZ_SCALE (a multiplier of the case counts) replay or widen a run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { withSafetensors, encodeSafetensors } from '../../src/core/io/safetensors';
import { runCli, STACK_LINE, type CliResult } from './captureCli';
import { FuzzRng, mutateBytes, mutateJson, mutateLines, mutateSafetensors, type Mutated } from './fuzzMutator';

export const FIX = join(__dirname, '..', 'fixtures');
const MODEL = join(FIX, 'models', 'bert-mlm-en');
const ST_MODEL = join(FIX, 'models', 'distilbert-mlm-en');
const BRIDGE = join(FIX, 'models', 'bridge-multilingual');
const KO_TOK = join(FIX, 'tokenizers', 'ko-wordpiece');
const HI_TOK = join(FIX, 'tokenizers', 'hi-wordpiece');
const BEIR = join(FIX, 'corpus', 'ko');
export const ready = existsSync(join(MODEL, 'onnx', 'model.onnx')) && existsSync(join(BRIDGE, 'onnx', 'model.onnx'));

export type Outcome = 'refused' | 'succeeded' | 'crash' | 'stack trace' | 'unnamed refusal' | 'wrong success' | 'leftover' | 'modified input' | 'hang';

export interface Case {
  argv: string[];
  /** the damaged file */
  mutated: string;
  /** files and folders that must be unchanged afterwards */
  inputs: string[];
  /** an output a refusal must not leave behind */
  out?: string;
  /** for a success: what is wrong with the output, if anything */
  check?: (r: CliResult) => Promise<string | undefined> | string | undefined;
}

export interface Kind {
  name: string;
  cases: number;
  /** rough seconds per case, to schedule the slow kinds first */
  costPerCase: number;
  make(rng: FuzzRng, dir: string): Promise<Case & { label: string }>;
}

export function hashTree(path: string): string {
  const h = createHash('sha256');
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
    else h.update(p).update(readFileSync(p));
  };
  if (existsSync(path)) walk(path);
  return h.digest('hex');
}

function tempLeftovers(dir: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    for (const n of readdirSync(p)) {
      const q = join(p, n);
      if (/\.tmp-/.test(n)) found.push(q);
      else if (statSync(q).isDirectory()) walk(q);
    }
  };
  walk(dir);
  return found;
}

function write(path: string, m: Mutated<Uint8Array>): string {
  writeFileSync(path, m.value);
  return m.label;
}

const finiteJsonNumbers = (text: string): string | undefined => {
  for (const line of text.split('\n').filter((l) => l.trim().startsWith('{'))) {
    let bad: string | undefined;
    JSON.parse(line, (k, v) => {
      if (v === null && !bad) bad = `null value for '${k}'`;
      return v;
    });
    if (/\bNaN\b|Infinity/.test(line)) return 'NaN/Infinity in the output';
    if (bad) return bad;
  }
  return undefined;
};

async function finiteSafetensors(path: string): Promise<string | undefined> {
  return withSafetensors(path, async (r) => {
    for (const name of r.names()) {
      const { dtype } = r.info(name);
      if (!['F32', 'F16', 'BF16', 'F64'].includes(dtype)) continue;
      const v = await r.readFloat32(name);
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return `${basename(path)} ${name}[${i}] = ${v[i]}`;
    }
    return undefined;
  });
}

/** Shared, read-only base inputs built once: an index, a run file, a reconstruct input, a warm bridge cache. */
export interface Base {
  dir: string;
  index: string;
  run: string;
  recon: string;
  cache: string;
  refModel: string;
}

const matrix = (rows: number, cols: number, seed: number): Float32Array => {
  const r = new FuzzRng(seed);
  return Float32Array.from({ length: rows * cols }, () => r.next() - 0.5);
};

export async function buildBase(): Promise<Base> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-fuzz-base-'));
  const index = join(dir, 'index');
  const r1 = await runCli(['index', '--model', MODEL, '--corpus', join(BEIR, 'corpus.jsonl'), '--out', index]);
  assert.equal(r1.code, 0, r1.err);
  const run = join(dir, 'run.txt');
  const r2 = await runCli(['eval', '--model', MODEL, '--data', BEIR, '--run', run]);
  assert.equal(r2.code, 0, r2.err);
  const recon = join(dir, 'recon.safetensors');
  writeFileSync(recon, encodeSafetensors({
    source_bridge: { dtype: 'F32', shape: [12, 4], data: matrix(12, 4, 1) },
    target_bridge: { dtype: 'F32', shape: [5, 4], data: matrix(5, 4, 2) },
    source_embeddings: { dtype: 'F32', shape: [12, 6], data: matrix(12, 6, 3) },
    source_bias: { dtype: 'F32', shape: [12], data: matrix(12, 1, 4) },
    candidate_source_ids: { dtype: 'I32', shape: [10], data: Int32Array.from({ length: 10 }, (_, i) => i + 2) },
  }));
  const cache = join(dir, 'cache');
  const refModel = join(dir, 'ref-model');
  const r3 = await runCli(['init', '--source', MODEL, '--target-tokenizer', KO_TOK, '--bridge', BRIDGE, '--out', refModel, '--cache', cache, '--quiet', '--no-diagnostics']);
  assert.equal(r3.code, 0, r3.err);
  return { dir, index, run, recon, cache, refModel };
}

export function kinds(base: Base): Kind[] {
  const copyModel = (src: string, dir: string) => {
    const m = join(dir, 'model');
    cpSync(src, m, { recursive: true });
    rmSync(join(m, 'onnx', 'model_dynamo.onnx'), { force: true });
    return m;
  };
  const copyCache = (dir: string) => {
    cpSync(base.cache, join(dir, 'cache'), { recursive: true });
    return join(dir, 'cache');
  };
  const encodeCheck = (r: CliResult) => finiteJsonNumbers(r.out) ?? (r.out.includes('"terms"') ? undefined : 'no terms printed');
  const encodeCase = (model: string, mutated: string, label: string) => ({
    label,
    mutated,
    argv: ['encode', '--model', model, '--json', 'the river house', '서울'],
    inputs: [model],
    check: encodeCheck,
  });
  return [
    {
      name: 'safetensors (reconstruct input)',
      costPerCase: 0.01,
      cases: 90,
      async make(rng, dir) {
        const input = join(dir, 'in.safetensors');
        const label = write(input, rng.int(5) === 0 ? mutateBytes(rng, readFileSync(base.recon)) : mutateSafetensors(rng, readFileSync(base.recon)));
        const out = join(dir, 'out.safetensors');
        const method = rng.pick(['sembridge', 'sembridge', 'focus', 'gaussian', 'multivariate-gaussian', 'mean', 'topk-softmax', 'random']);
        const argv = ['reconstruct', '--input', input, '--method', method, '--output', out];
        if (method === 'sembridge') argv.push('--alpha', rng.pick(['1.5', '2', '4', '1e4']));
        return { label: `${label} [${method}]`, mutated: input, argv, inputs: [input], out, check: () => finiteSafetensors(out) };
      },
    },
    {
      name: 'safetensors (model weights)',
      costPerCase: 0.1,
      cases: 30,
      async make(rng, dir) {
        const model = copyModel(ST_MODEL, dir);
        const file = join(model, 'model.safetensors');
        const label = write(file, mutateSafetensors(rng, readFileSync(file)));
        return encodeCase(model, file, label);
      },
    },
    {
      name: 'ONNX',
      costPerCase: 0.2,
      cases: 24,
      async make(rng, dir) {
        const model = copyModel(MODEL, dir);
        rmSync(join(model, 'model.safetensors'));
        const file = join(model, 'onnx', 'model.onnx');
        const op = rng.int(6);
        let label: string;
        if (op === 0) {
          cpSync(join(BRIDGE, 'onnx', 'model.onnx'), file);
          label = 'wrong graph (the bridge encoder)';
        } else if (op === 1) {
          const b = readFileSync(file);
          writeFileSync(file, b.subarray(0, rng.int(b.length)));
          label = 'truncated';
        } else label = write(file, mutateBytes(rng, readFileSync(file)));
        return encodeCase(model, file, label);
      },
    },
    {
      name: 'tokenizer files (model)',
      costPerCase: 0.2,
      cases: 36,
      async make(rng, dir) {
        const model = copyModel(MODEL, dir);
        const name = rng.pick(['tokenizer.json', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']);
        const file = join(model, name);
        let label: string;
        if (name === 'vocab.txt') {
          rmSync(join(model, 'tokenizer.json'));
          label = write(file, mutateLines(rng, readFileSync(file)));
        } else if (rng.int(4) === 0) label = write(file, mutateBytes(rng, readFileSync(file)));
        else {
          const m = mutateJson(rng, JSON.parse(readFileSync(file, 'utf8')), (p) => p[0] === 'model' || p[0] === 'added_tokens' || p.length === 1);
          writeFileSync(file, JSON.stringify(m.value));
          label = m.label;
        }
        return encodeCase(model, file, `${name}: ${label}`);
      },
    },
    {
      name: 'target tokenizer (init)',
      costPerCase: 2.5,
      cases: 12,
      async make(rng, dir) {
        const tok = join(dir, 'tok');
        const name = rng.pick(['vocab.txt', 'vocab.txt', 'tokenizer_config.json', 'tokenizer.json', 'tokenizer.json']);
        // ko-wordpiece has only vocab.txt; hi-wordpiece a tokenizer.json
        cpSync(name === 'tokenizer.json' ? HI_TOK : KO_TOK, tok, { recursive: true });
        const file = join(tok, name);
        const label = name === 'vocab.txt' ? write(file, mutateLines(rng, readFileSync(file))) : (() => {
          const m = mutateJson(rng, JSON.parse(readFileSync(file, 'utf8')), (p) => p[0] === 'model' || p[0] === 'added_tokens');
          writeFileSync(file, JSON.stringify(m.value));
          return m.label;
        })();
        const out = join(dir, 'out');
        return {
          label: `${name}: ${label}`,
          mutated: file,
          // a copy of the warm cache: the source side is a hit, the damaged target side is embedded
          argv: ['init', '--source', MODEL, '--target-tokenizer', tok, '--bridge', BRIDGE, '--out', out, '--cache', copyCache(dir), '--quiet', '--no-diagnostics'],
          inputs: [tok],
          out,
          check: async () => finiteSafetensors(join(out, 'model.safetensors')),
        };
      },
    },
    {
      name: 'config.json',
      costPerCase: 0.15,
      cases: 24,
      async make(rng, dir) {
        const model = copyModel(rng.int(2) ? MODEL : ST_MODEL, dir);
        const file = join(model, 'config.json');
        const m = rng.int(5) === 0 ? { value: mutateBytes(rng, readFileSync(file)).value, label: 'bytes' } : (() => {
          const j = mutateJson(rng, JSON.parse(readFileSync(file, 'utf8')));
          return { value: Buffer.from(JSON.stringify(j.value)), label: j.label };
        })();
        writeFileSync(file, m.value);
        return encodeCase(model, file, `${basename(dirname(file))}: ${m.label}`);
      },
    },
    {
      name: 'JSONL corpus (index)',
      costPerCase: 0.15,
      cases: 30,
      async make(rng, dir) {
        const corpus = join(dir, 'corpus.jsonl');
        const label = write(corpus, mutateLines(rng, readFileSync(join(BEIR, 'corpus.jsonl'))));
        const out = join(dir, 'idx');
        return {
          label,
          mutated: corpus,
          argv: ['index', '--model', MODEL, '--corpus', corpus, '--out', out],
          inputs: [corpus],
          out,
          check: () => {
            const text = readFileSync(corpus, 'utf8');
            const ids = readFileSync(join(out, 'docs.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);
            if (new Set(ids).size !== ids.length) return 'duplicate ids in the index';
            const changed = ids.find((id) => id === '' || !text.includes(id));
            return changed !== undefined ? `id '${changed}' is not the text of the corpus line` : undefined;
          },
        };
      },
    },
    {
      name: 'BEIR folder (eval)',
      costPerCase: 0.15,
      cases: 18,
      async make(rng, dir) {
        const data = join(dir, 'beir');
        cpSync(BEIR, data, { recursive: true });
        const rel = rng.pick(['corpus.jsonl', 'queries.jsonl', join('qrels', 'test.tsv')]);
        const file = join(data, rel);
        const label = write(file, mutateLines(rng, readFileSync(file)));
        return {
          label: `${rel}: ${label}`,
          mutated: file,
          argv: ['eval', '--model', MODEL, '--data', data, '--json'],
          inputs: [data],
          check: (r) => finiteJsonNumbers(r.out),
        };
      },
    },
    {
      name: 'TREC qrels / run (metrics)',
      costPerCase: 0.02,
      cases: 60,
      async make(rng, dir) {
        const qrels = join(dir, 'qrels.txt');
        const run = join(dir, 'run.txt');
        // TREC-format qrels from the BEIR TSV
        const trec = readFileSync(join(BEIR, 'qrels', 'test.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => {
          const [q, d, s] = l.split('\t');
          return `${q} 0 ${d} ${s}`;
        }).join('\n') + '\n';
        writeFileSync(qrels, trec);
        cpSync(base.run, run);
        const which = rng.int(2) ? qrels : run;
        const label = write(which, mutateLines(rng, readFileSync(which)));
        return {
          label: `${basename(which)}: ${label}`,
          mutated: which,
          argv: ['metrics', '--qrels', qrels, '--run', run, '--json'],
          inputs: [qrels, run],
          check: (r) => {
            const bad = finiteJsonNumbers(r.out);
            if (bad) return bad;
            const m = JSON.parse(r.out.trim().split('\n').pop()!) as Record<string, unknown>;
            // the measures (ir_measures names); counts such as numQueries are not bounded
            const out = Object.entries(m).find(([k, v]) => typeof v === 'number' && /@|^(map|ndcg|recall|rr|mrr|p)\b/i.test(k) && (v < 0 || v > 1));
            return out ? `${out[0]} = ${out[1]} is outside [0, 1]` : undefined;
          },
        };
      },
    },
    {
      name: 'index files (search)',
      costPerCase: 0.13,
      cases: 45,
      async make(rng, dir) {
        const idx = join(dir, 'index');
        cpSync(base.index, idx, { recursive: true });
        const name = rng.pick(['manifest.json', 'postings.bin', 'postings.bin', 'docs.jsonl']);
        const file = join(idx, name);
        let label: string;
        if (name === 'manifest.json') {
          const m = mutateJson(rng, JSON.parse(readFileSync(file, 'utf8')));
          writeFileSync(file, JSON.stringify(m.value));
          label = m.label;
        } else {
          label = write(file, name === 'docs.jsonl' ? mutateLines(rng, readFileSync(file)) : mutateBytes(rng, readFileSync(file)));
          // half the time the checksum is recomputed, as a careless tool would
          if (rng.int(2)) {
            const { crc32 } = await import('node:zlib');
            const manifest = JSON.parse(readFileSync(join(idx, 'manifest.json'), 'utf8'));
            manifest.checksums[name === 'docs.jsonl' ? 'docs' : 'postings'] = (crc32(readFileSync(file)) >>> 0).toString(16).padStart(8, '0');
            writeFileSync(join(idx, 'manifest.json'), JSON.stringify(manifest));
            label += ' +checksum';
          }
        }
        return {
          label: `${name}: ${label}`,
          mutated: file,
          argv: ['search', '--index', idx, '--model', MODEL, '--json', '한강 공원'],
          inputs: [idx],
          check: (r) => {
            const bad = finiteJsonNumbers(r.out);
            if (bad) return bad;
            const res = JSON.parse(r.out) as { hits: { score: number; docId: string }[] };
            const ids = readFileSync(join(base.index, 'docs.jsonl'), 'utf8');
            const wrong = res.hits.find((h) => !Number.isFinite(h.score) || !ids.includes(JSON.stringify(h.docId)));
            return wrong ? `hit ${JSON.stringify(wrong)} is not a document of the index` : undefined;
          },
        };
      },
    },
    {
      name: 'bridge cache (init)',
      costPerCase: 1.5,
      cases: 8,
      async make(rng, dir) {
        const cache = join(dir, 'cache');
        cpSync(base.cache, cache, { recursive: true });
        const files: string[] = [];
        const walk = (p: string) => readdirSync(p).forEach((n) => (statSync(join(p, n)).isDirectory() ? walk(join(p, n)) : files.push(join(p, n))));
        walk(cache);
        const file = rng.pick(files.filter((f) => !f.includes('file-hashes')).concat(rng.int(3) ? [] : files));
        let label: string;
        if (file.endsWith('.json')) {
          const m = mutateJson(rng, JSON.parse(readFileSync(file, 'utf8')));
          writeFileSync(file, JSON.stringify(m.value));
          label = m.label;
        } else if (file.endsWith('.f32') && rng.int(2)) {
          const b = Buffer.from(readFileSync(file));
          b.writeFloatLE(rng.pick([NaN, Infinity, -Infinity]), 4 * rng.int(b.length / 4));
          writeFileSync(file, b);
          label = 'non-finite vector value';
        } else label = write(file, mutateBytes(rng, readFileSync(file)));
        const out = join(dir, 'out');
        return {
          label: `${basename(file).slice(0, 12)}…${file.slice(file.lastIndexOf('.'))}: ${label}`,
          mutated: file,
          argv: ['init', '--source', MODEL, '--target-tokenizer', KO_TOK, '--bridge', BRIDGE, '--out', out, '--cache', cache, '--quiet', '--no-diagnostics'],
          // the cache is rewritten by design when an entry is damaged
          inputs: [],
          out,
          check: () => {
            // a damaged cache must give the same model as a clean one
            const a = readFileSync(join(out, 'model.safetensors'));
            const b = readFileSync(join(base.refModel, 'model.safetensors'));
            return a.equals(b) ? undefined : 'the model differs from the one made with a clean cache';
          },
        };
      },
    },
  ];
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runCase(c: Case, caseDir: string): Promise<{ outcome: Outcome; detail: string }> {
  const before = new Map(c.inputs.map((p) => [p, hashTree(p)]));
  const r = await withTimeout(runCli(c.argv), 60_000);
  if (r === 'hang') return { outcome: 'hang', detail: 'no answer in 60 s' };
  for (const [p, h] of before) if (hashTree(p) !== h) return { outcome: 'modified input', detail: p };
  const firstLine = r.err.split('\n').find((l) => /sembridge/.test(l)) ?? r.err.split('\n')[0] ?? '';
  if (r.code === -1 || r.code === 70 || /unexpected error/.test(r.err)) return { outcome: 'crash', detail: firstLine.slice(0, 300) };
  if (STACK_LINE.test(r.err) || STACK_LINE.test(r.out)) return { outcome: 'stack trace', detail: firstLine.slice(0, 300) };
  if (r.code !== 0) {
    const leftovers = tempLeftovers(caseDir);
    if (c.out && existsSync(c.out)) return { outcome: 'leftover', detail: `${c.out} exists after a refusal` };
    if (leftovers.length) return { outcome: 'leftover', detail: leftovers.join(', ') };
    const named = r.err.includes(basename(c.mutated)) || r.err.includes(caseDir);
    return named ? { outcome: 'refused', detail: firstLine } : { outcome: 'unnamed refusal', detail: firstLine.slice(0, 300) };
  }
  const leftovers = tempLeftovers(caseDir);
  if (leftovers.length) return { outcome: 'leftover', detail: leftovers.join(', ') };
  let problem: string | undefined;
  try {
    problem = await c.check?.(r);
  } catch (err) {
    problem = `output unreadable: ${(err as Error).message}`;
  }
  return problem ? { outcome: 'wrong success', detail: problem } : { outcome: 'succeeded', detail: '' };
}
