// `init` and the graph builder from `.bin`-only folders (pytorch_model.bin, and its sharded form)
// give the same bytes as from the safetensors folder of the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runInit, type InitOptions } from '../../src/core/init';
import { hashFolder, listFilesRecursive } from '../../src/core/model/hfFolder';
import { buildOnnxFromConfig, encodeOnnxModel } from '../../src/core/onnx';

const FIX = join(__dirname, '..', 'fixtures');
const MODELS = join(FIX, 'models');
const TOKENIZERS = join(FIX, 'tokenizers');
const ready = existsSync(join(MODELS, 'bert-mlm-en-bin', 'pytorch_model.bin')) && existsSync(join(TOKENIZERS, 'ko-wordpiece'));
const work = mkdtempSync(join(tmpdir(), 'sb-bin-init-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** A copy of a safetensors fixture without its ONNX export, so both folders go through the graph builder. */
function withoutOnnx(name: string): string {
  const dir = join(work, `${name}-st`);
  if (!existsSync(dir)) cpSync(join(MODELS, name), dir, { recursive: true, filter: (src) => !src.includes(`${name}/onnx`) });
  return dir;
}

function opts(source: string, bridge: string, out: string): InitOptions {
  return {
    source,
    targetTokenizer: join(TOKENIZERS, 'ko-wordpiece'),
    bridge,
    out,
    cacheDir: join(work, 'cache'),
    bridgeInProcess: true,
    skipDiagnostics: true,
  };
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of await listFilesRecursive(dir)) out.set(relative(dir, f), readFileSync(f));
  return out;
}

test('the graph built from pytorch_model.bin (single or sharded) is byte-identical to the one built from model.safetensors', async (t) => {
  if (!ready) return t.skip('the .bin fixtures are not generated');
  for (const [bin, st, head] of [
    ['bert-mlm-en-bin', 'bert-mlm-en', 'mlm'],
    ['bert-mlm-en-bin-sharded', 'bert-mlm-en', 'mlm'],
    ['bridge-multilingual-bin', 'bridge-multilingual', 'encoder'],
  ] as const) {
    const a = encodeOnnxModel(await buildOnnxFromConfig(join(MODELS, bin), { head }));
    const b = encodeOnnxModel(await buildOnnxFromConfig(join(MODELS, st), { head }));
    assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${bin}: same ONNX bytes as ${st}`);
  }
});

test('init from a .bin-only source and bridge writes the same bytes as from their safetensors folders', async (t) => {
  if (!ready) return t.skip('the .bin fixtures are not generated');
  const binSource = join(MODELS, 'bert-mlm-en-bin');
  const binBridge = join(MODELS, 'bridge-multilingual-bin');
  const before = [await hashFolder(binSource), await hashFolder(binBridge)];
  const fromBin = join(work, 'out-bin');
  const fromSt = join(work, 'out-st');
  const a = await runInit(opts(binSource, binBridge, fromBin));
  const b = await runInit(opts(withoutOnnx('bert-mlm-en'), withoutOnnx('bridge-multilingual'), fromSt));
  const fa = await filesOf(fromBin);
  const fb = await filesOf(fromSt);
  assert.deepEqual([...fa.keys()], [...fb.keys()], 'same files');
  for (const [name, bytes] of fa) {
    // paths, hashes and timings differ; the output marker holds its creation time
    if (name === 'sembridge/report.json' || name === 'sembridge/output.json') continue;
    assert.ok(bytes.equals(fb.get(name)!), `${name} is byte-identical`);
  }
  assert.ok(fa.has('model.safetensors') && fa.has('onnx/model.onnx'));
  assert.deepEqual(a.counts, b.counts);
  const ra = JSON.parse(fa.get('sembridge/report.json')!.toString());
  const rb = JSON.parse(fb.get('sembridge/report.json')!.toString());
  for (const k of ['counts', 'overlapCounts', 'supportSize', 'fallbackRows'] as const) assert.deepEqual(ra[k], rb[k], k);
  assert.equal(ra.inputs.source.tiedDecoder, true, 'the tied decoder of the .bin is seen as tied');
  assert.equal(ra.inputs.source.weightsFile, 'pytorch_model.bin');
  assert.equal(rb.inputs.source.weightsFile, 'model.safetensors');
  assert.deepEqual([await hashFolder(binSource), await hashFolder(binBridge)], before, 'the .bin folders are not modified');
});
