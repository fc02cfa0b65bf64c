// embedAll tokenises every string once and batches strings of one token count without padding;
// its vectors must equal the tokenizer's own padded batch call, string by string, truncation included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeModel } from '../../src/core/bridge/bridgeModel';

const BRIDGE = join(__dirname, '..', 'fixtures', 'models', 'bridge-multilingual');

test('embedAll (one tokenisation, unpadded groups) equals the padded batch call, with strings over maxLength truncated alike', async (t) => {
  if (!existsSync(join(BRIDGE, 'onnx', 'model.onnx'))) return t.skip('bridge fixture missing: run npm run fixtures');
  const model = await BridgeModel.open({ modelDir: BRIDGE, maxLength: 6, threads: 1 });
  try {
    const strings = [
      'home', '집', 'riverbank walk', 'a b c d e f g h i j', // the last one is cut at 6 tokens
      '家', 'дом', 'ing', 'water', '물', 'the quick brown fox jumps over the lazy dog', '',
      ...Array.from({ length: 40 }, (_, i) => `w${i}`),
    ];
    // batch size 3: groups are cut into several batches, and the longest-first order crosses them
    const all = await model.embedAll(strings, { batchSize: 3 });
    assert.equal(all.rows, strings.length);
    const padded = await model.embedBatch(strings); // one batch call over every string, padded
    let maxDiff = 0;
    for (let i = 0; i < all.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(all.data[i] - padded.data[i]));
    assert.ok(maxDiff <= 1e-6, `max |diff| ${maxDiff}`);
    // and each string alone (no padding at all) gives the same row
    for (const i of [0, 2, 3, 9, 11]) {
      const one = await model.embedBatch([strings[i]]);
      for (let k = 0; k < all.cols; k++) assert.ok(Math.abs(one.data[k] - all.data[i * all.cols + k]) <= 1e-6, `string ${i} column ${k}`);
    }
  } finally {
    await model.dispose();
  }
});
