// Model folders for the extension's tests. `makeKoModelFolder` lays out what `sembridge init`
// writes (target tokenizer files + sembridge/mapping.jsonl) for the Korean WordPiece fixture, with
// source tokens from the English fixture model. Until runInit lands, the mapping lines are made
// here in the documented format: exact matches where the strings agree, entmax (core) weights over
// deterministic pseudo-cosines for the rest, roles for special tokens and a few fallbacks.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { entmax } from '../../src/core/entmax';
import type { TokenMapping } from '../../src/core/types';

export const FIXTURES = join(__dirname, '..', 'fixtures');
export const KO_TOKENIZER = join(FIXTURES, 'tokenizers', 'ko-wordpiece');
export const EN_MODEL = join(FIXTURES, 'models', 'bert-mlm-en');

export function fixturesPresent(): string | undefined {
  for (const p of [join(KO_TOKENIZER, 'vocab.txt'), join(EN_MODEL, 'vocab.txt')]) if (!existsSync(p)) return `fixture missing: ${p}`;
  return undefined;
}

function readVocab(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l, i, a) => l.length > 0 || i < a.length - 1);
}

export function makeKoMappingLines(): TokenMapping[] {
  const target = readVocab(join(KO_TOKENIZER, 'vocab.txt'));
  const source = readVocab(join(EN_MODEL, 'vocab.txt'));
  const sourceId = new Map(source.map((t, i) => [t, i]));
  const lines: TokenMapping[] = [];
  target.forEach((token, id) => {
    if (/^\[(PAD|UNK|CLS|SEP|MASK)\]$/.test(token)) {
      const sid = sourceId.get(token) ?? 0;
      lines.push({ id, token, match: 'role', sources: [{ id: sid, token: source[sid], weight: 1, cosine: 1 }], support: 1 });
      return;
    }
    const same = sourceId.get(token);
    if (same !== undefined) {
      lines.push({ id, token, match: 'exact', sources: [{ id: same, token, weight: 1, cosine: 1 }], support: 1 });
      return;
    }
    if (id % 97 === 0) {
      lines.push({ id, token, match: 'fallback', sources: [], support: 0 });
      return;
    }
    // 12 candidate sources with descending pseudo-cosines; entmax(α=4) keeps the top few
    const cands = Array.from({ length: 12 }, (_, k) => (id * 31 + k * 17) % (source.length - 110) + 110);
    const cos = cands.map((_, k) => 0.82 - 0.045 * k - ((id * 7 + k) % 5) * 0.004);
    const r = entmax(cos, 4);
    const sources = cands
      .map((sid, k) => ({ id: sid, token: source[sid], weight: r.weights[k], cosine: cos[k] }))
      .filter((s) => s.weight > 0);
    lines.push({ id, token, match: 'bridged', sources, support: sources.length });
  });
  return lines;
}

/** A transferred-model folder for the Korean fixture tokenizer. */
export function makeKoModelFolder(dir: string): string {
  mkdirSync(join(dir, 'sembridge'), { recursive: true });
  for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(KO_TOKENIZER, f), join(dir, f));
  writeFileSync(join(dir, 'sembridge', 'mapping.jsonl'), makeKoMappingLines().map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

/** A large mapping (n lines) for paging and job tests; token i is `tok{i}` with 3 sources. */
export function makeLargeModelFolder(dir: string, n: number): string {
  mkdirSync(join(dir, 'sembridge'), { recursive: true });
  const parts: string[] = [];
  for (let id = 0; id < n; id++) {
    const bridged = id % 10 !== 0;
    const support = bridged ? 1 + (id % 5) : 0;
    const sources = Array.from({ length: support }, (_, k) => ({ id: (id + k) % 30000, token: `src${(id + k) % 30000}`, weight: 1 / support, cosine: 0.9 - 0.1 * k }));
    parts.push(JSON.stringify({ id, token: `tok${id}`, match: bridged ? 'bridged' : 'fallback', sources, support }));
  }
  writeFileSync(join(dir, 'sembridge', 'mapping.jsonl'), parts.join('\n') + '\n');
  return dir;
}

/**
 * A copy of the English fixture encoder with a mapping onto its own vocabulary (every token an
 * exact match): a complete "model folder" (encoder + tokenizer + mapping) for command tests that
 * need a real encoder before a transferred Korean model can be produced by runInit.
 */
export function makeEnModelFolder(dir: string): string {
  const { cpSync } = require('node:fs') as typeof import('node:fs');
  cpSync(EN_MODEL, dir, { recursive: true, filter: (src: string) => !src.endsWith('model_dynamo.onnx') });
  const vocab = readVocab(join(EN_MODEL, 'vocab.txt'));
  mkdirSync(join(dir, 'sembridge'), { recursive: true });
  const lines = vocab.map((token, id) =>
    JSON.stringify({ id, token, match: /^\[.*\]$/.test(token) ? 'role' : 'exact', sources: [{ id, token, weight: 1, cosine: 1 }], support: 1 }),
  );
  writeFileSync(join(dir, 'sembridge', 'mapping.jsonl'), lines.join('\n') + '\n');
  return dir;
}
