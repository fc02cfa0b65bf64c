// Scenario 2: cancel a running transfer from its progress notification → no output folder (and no
// half-written temporary folder) is left.
//
// With the tiny fixture bridge a transfer takes about a second, less than a click needs. So this
// scenario first writes a larger random-weight bridge (12 layers, hidden 512; the product's own
// `sembridge generate-model`, from the installed extension) over the fixture bridge's vocabulary:
// bridging then takes ~10 s, and the user picks that model with "Browse…" in the wizard.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { installedCli, startTransfer, tempLeftovers, transferProgress } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 180_000,
  async run(t) {
    const parent = join(t.paths.runDir, 'models');
    mkdirSync(parent, { recursive: true });
    const bridgeDir = join(parent, 'large-bridge');
    const gen = spawnSync(
      process.execPath,
      [installedCli(t), 'generate-model', '--kind', 'encoder', '--vocab', t.paths.bridgeModel, '--out', bridgeDir,
        '--hidden', '512', '--layers', '12', '--heads', '8', '--intermediate', '2048'],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } },
    );
    if (gen.status !== 0) throw new Error(`sembridge generate-model failed (exit ${gen.status}): ${gen.stderr || gen.stdout}`);
    t.log(gen.stdout.trim());

    const out = join(parent, 'cancelled-transfer');
    const progress = await startTransfer(t, parent, 'cancelled-transfer', { bridgeDir });
    // Cancel once the job is visibly at work (embedding tokens with the bridge).
    await progress.filter({ hasText: /bridge-(source|target)|bridging/i }).first().waitFor({ timeout: 60_000 });
    t.log(`progress before Cancel: ${(await progress.innerText().catch(() => '')).replace(/\s+/g, ' ')}`);
    await t.shot('running');
    await progress.hover();
    await progress.locator('.monaco-button', { hasText: /^Cancel$/ }).first().click({ timeout: 10_000 });
    t.log('clicked Cancel');

    // The user sees the cancellation confirmed, and the progress notification goes away.
    await t.wb.waitForNotification(/cancelled/, 60_000);
    await transferProgress(t).first().waitFor({ state: 'detached', timeout: 60_000 }).catch(() => {});
    if (await t.wb.notification(/transferred model written to/).count()) throw new Error('the transfer completed although Cancel was clicked');
    if (await transferProgress(t).count()) throw new Error('the progress notification is still shown 60 s after Cancel');
    t.log(`notifications after cancel: ${JSON.stringify(await t.wb.notificationTexts())}`);
    await t.shot();
    if (existsSync(out)) throw new Error(`${out} exists after cancelling`);
    const left = tempLeftovers(out);
    if (left.length) throw new Error(`temporary folders left after cancelling: ${left.join(', ')}`);
  },
};
