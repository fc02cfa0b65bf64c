// A real-size BERT (bert-base: 30,522 × 768, 12 layers, ~440 MB of float32 safetensors, random
// weights) builds from config + safetensors and runs in onnxruntime-node. Slow and memory-hungry
// (~2 GB peak), so it runs only with SEMBRIDGE_LARGE_TESTS=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../src/core/io/safetensors';
import { loadOrt } from '../../src/core/ort';
import { buildOnnxFromConfig, createSession, findVocabTensors } from '../../src/core/onnx';

const enabled = process.env.SEMBRIDGE_LARGE_TESTS === '1';

test('bert-base size: build from safetensors and run', { skip: enabled ? false : 'set SEMBRIDGE_LARGE_TESTS=1 to build a 440 MB bert-base (slow, ~2 GB RAM)' }, async () => {
  const V = 30522, H = 768, L = 12, I = 3072, P = 512;
  const dir = mkdtempSync(join(tmpdir(), 'sb-bert-base-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      model_type: 'bert', architectures: ['BertForMaskedLM'], vocab_size: V, hidden_size: H, num_hidden_layers: L,
      num_attention_heads: 12, intermediate_size: I, hidden_act: 'gelu', layer_norm_eps: 1e-12, max_position_embeddings: P, type_vocab_size: 2, pad_token_id: 0,
    }));
    let seed = 1;
    const rnd = (n: number, scale = 0.02) => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
      return a;
    };
    const t: Record<string, TensorToWrite> = {};
    const add = (name: string, shape: number[], data?: Float32Array) => (t[name] = { dtype: 'F32', shape, data: data ?? rnd(shape.reduce((a, b) => a * b, 1)) });
    const ln = (p: string) => { add(`${p}.weight`, [H], new Float32Array(H).fill(1)); add(`${p}.bias`, [H], new Float32Array(H)); };
    const lin = (p: string, o: number, i: number) => { add(`${p}.weight`, [o, i]); add(`${p}.bias`, [o], new Float32Array(o)); };
    add('bert.embeddings.word_embeddings.weight', [V, H]);
    add('bert.embeddings.position_embeddings.weight', [P, H]);
    add('bert.embeddings.token_type_embeddings.weight', [2, H]);
    ln('bert.embeddings.LayerNorm');
    for (let l = 0; l < L; l++) {
      const p = `bert.encoder.layer.${l}`;
      for (const n of ['query', 'key', 'value']) lin(`${p}.attention.self.${n}`, H, H);
      lin(`${p}.attention.output.dense`, H, H); ln(`${p}.attention.output.LayerNorm`);
      lin(`${p}.intermediate.dense`, I, H); lin(`${p}.output.dense`, H, I); ln(`${p}.output.LayerNorm`);
    }
    lin('cls.predictions.transform.dense', H, H); ln('cls.predictions.transform.LayerNorm');
    add('cls.predictions.bias', [V], rnd(V));
    await writeSafetensors(join(dir, 'model.safetensors'), t);
    for (const k of Object.keys(t)) delete t[k];

    const t0 = performance.now();
    const model = await buildOnnxFromConfig(dir);
    const t1 = performance.now();
    const session = await createSession(model);
    const t2 = performance.now();
    const v = findVocabTensors(model);
    assert.deepEqual([v.vocabSize, v.hidden, v.decoder?.tiedToEmbedding], [V, H, true]);
    const ort = loadOrt();
    const S = 32;
    const ids = Array.from({ length: S }, (_, i) => BigInt((i * 977) % V));
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids), [1, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(S), [1, S]),
    };
    const out = (await session.run(feeds)).logits;
    const t3 = performance.now();
    assert.deepEqual([...out.dims], [1, S, V]);
    assert.ok((out.data as Float32Array).every(Number.isFinite));
    console.log(`bert-base: build ${(t1 - t0).toFixed(0)} ms, session ${(t2 - t1).toFixed(0)} ms, first run (1×${S}) ${(t3 - t2).toFixed(0)} ms, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
