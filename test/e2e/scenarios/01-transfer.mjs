// Scenario 1: command palette → "SemBridge: Transfer Encoder to Target Language…" on the fixture
// models → progress notification → completion message → the output folder holds mapping.jsonl.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findFile, startTransfer } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    try {
      await transfer(t);
    } catch (err) {
      t.state.modelError ??= `scenario 01 failed: ${String(err?.message ?? err).split('\n')[0]}`;
      throw err;
    }
  },
};

async function transfer(t) {
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
  // the new model becomes the active one, named in the status bar
  await t.page.locator('.statusbar-item', { hasText: 'bert-mlm-ko' }).first().waitFor({ timeout: 15_000 });
  await t.shot();
}
