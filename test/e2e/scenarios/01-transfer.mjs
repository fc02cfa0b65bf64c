// Scenario 1: command palette → "SemBridge: Transfer Encoder to Target Language…" on the fixture
// models → progress notification → completion message → the output folder holds mapping.jsonl.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findFile, startTransfer } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    const parent = join(t.paths.runDir, 'models');
    mkdirSync(parent, { recursive: true });
    const out = join(parent, 'bert-mlm-ko');
    const progress = await startTransfer(t, parent, 'bert-mlm-ko');
    t.log(`progress: ${await progress.innerText().catch(() => '(gone)')}`);
    await t.shot('progress');
    const done = await t.wb.waitForNotification(/transferred model written to/, 240_000);
    const text = await done.innerText();
    if (!text.includes(out)) throw new Error(`completion message does not name ${out}: "${text}"`);
    if (!existsSync(out)) throw new Error(`the completion message appeared but ${out} does not exist`);
    const mapping = findFile(out, 'mapping.jsonl');
    if (!mapping) throw new Error(`${out} has no mapping.jsonl`);
    t.log(`mapping at ${mapping}`);
    t.state.modelDir = out;
    await t.shot();
  },
};
