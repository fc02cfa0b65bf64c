// Scenario 2: cancel a running transfer from its progress notification → no output folder (and no
// half-written temporary folder) is left.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTransfer, tempLeftovers } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 180_000,
  async run(t) {
    const parent = join(t.paths.runDir, 'models');
    mkdirSync(parent, { recursive: true });
    const out = join(parent, 'cancelled-transfer');
    const progress = await startTransfer(t, parent, 'cancelled-transfer');
    await progress.hover();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).first().click({ timeout: 10_000 });
    t.log('clicked Cancel');
    const finished = t.wb.notification(/transferred model written to/);
    // The job reports its cancellation; the progress notification goes away.
    await progress.waitFor({ state: 'detached', timeout: 60_000 }).catch(() => {});
    await t.page.waitForTimeout(1500);
    if (await finished.count()) throw new Error('the transfer completed although Cancel was clicked (it finished before the click)');
    if (await t.wb.notification(/SemBridge: Transfer/).count()) throw new Error('the progress notification is still shown 60 s after Cancel');
    const texts = await t.wb.notificationTexts();
    t.log(`notifications after cancel: ${JSON.stringify(texts)}`);
    await t.shot();
    if (existsSync(out)) throw new Error(`${out} exists after cancelling`);
    const left = tempLeftovers(out);
    if (left.length) throw new Error(`temporary folders left after cancelling: ${left.join(', ')}`);
  },
};
