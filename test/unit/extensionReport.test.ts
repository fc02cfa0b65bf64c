// The transfer report view's data: read from sembridge/report.json, with the two collapse checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collapseOf, readTransferReport } from '../../src/extension/model/transferReport';

function reportWith(transferredActive: number): Record<string, unknown> {
  return {
    createdAt: '2026-12-01T10:20:00.000Z',
    parameters: { method: 'sembridge', alpha: 4 },
    inputs: { source: { path: '/m/en', vocabSize: 30522 }, targetTokenizer: { path: '/t/ko', vocabSize: 32000 }, bridge: { path: '/b/x' } },
    counts: { exact: 100, bridged: 900, fallback: 3, total: 1003 },
    supportSize: { histogram: { '1': 400, '2': 300, '5': 200 }, mean: 2.3, median: 2, max: 5 },
    timings: { bridgeMs: 1200, initMs: 340.5, bridgeCacheHits: 7, totalMs: 2000 },
    warnings: ['3 tokens fell back to the mean'],
    diagnostics: { language: 'ko', unknownRate: 0.01, source: { texts: 20, meanActive: 140, flops: 12.3 }, transferred: { texts: 20, meanActive: transferredActive, flops: 4.5 } },
  };
}

test('the report view data: counts, support histogram, stage times in ms, probe diagnostics; collapse warned in both directions', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sb-report-'));
  try {
    const dir = join(tmp, 'model');
    mkdirSync(join(dir, 'sembridge'), { recursive: true });
    writeFileSync(join(dir, 'sembridge', 'report.json'), JSON.stringify(reportWith(120)));
    const r = await readTransferReport(dir);
    assert.deepEqual(r.counts, { exact: 100, bridged: 900, fallback: 3, total: 1003 });
    assert.deepEqual(r.timings, [
      { stage: 'bridge', ms: 1200 },
      { stage: 'init', ms: 340.5 },
      { stage: 'total', ms: 2000 },
    ]);
    assert.equal(r.diagnostics!.transferred.vocabSize, 32000);
    assert.equal(r.collapse, undefined);
    assert.deepEqual(r.warnings, ['3 tokens fell back to the mean']);
    // almost nothing active
    writeFileSync(join(dir, 'sembridge', 'report.json'), JSON.stringify(reportWith(1.5)));
    const few = await readTransferReport(dir);
    assert.equal(few.collapse, 'few-active');
    assert.match(few.warnings[0], /activates only 1\.5 dimensions per probe text \(the source model 140\)/);
    // almost everything active
    writeFileSync(join(dir, 'sembridge', 'report.json'), JSON.stringify(reportWith(31234.4)));
    const most = await readTransferReport(dir);
    assert.equal(most.collapse, 'most-active');
    assert.match(most.warnings[0], /activates 31,234 of 32,000 dimensions per probe text \(98%\) \(the source model: 0%\): every text/);
    // a folder that was not written by a transfer
    await assert.rejects(readTransferReport(tmp), /sembridge\/report\.json: is missing: the folder was not written by a transfer/);
    assert.deepEqual(collapseOf({ texts: 1, meanActive: 3, flops: 1 }, { texts: 1, meanActive: 2, flops: 1 }), {}, 'not a collapse when the source is as sparse');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
