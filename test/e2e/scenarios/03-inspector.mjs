// Scenario 3: Open Inspector → search a Korean token → its source tokens and weights are listed;
// moving the α slider changes the weights.
import { commandTitle, ensureModel } from '../sembridge.mjs';

const barsOf = (wv, id) =>
  wv.locator(`#${id} .bar-row`).evaluateAll((rows) =>
    rows.map((r) => `${r.querySelector('.bar-label')?.textContent}=${r.querySelector('.bar-value')?.textContent}`),
  );

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    await ensureModel(t);
    await t.wb.runCommand(commandTitle(t.paths.repo, /^Open Inspector$/));
    const wv = t.wb.webview();
    await wv.locator('#app[data-state="ready"]').waitFor({ timeout: 30_000 });
    await wv.locator('vscode-tab-header', { hasText: /^\s*Mapping\s*$/i }).click();
    await wv.locator('#mapping-match').selectOption('bridged');
    await wv.locator('#mapping-mode').selectOption('prefix');
    await wv.locator('#mapping-search').fill('학');
    const row = wv.locator('#mapping-list .vrow:not(.pending)', { hasText: /^학/ }).first();
    await row.waitFor({ timeout: 30_000 });
    const token = await row.locator('.cell.token').first().innerText();
    t.log(`selecting ${token}`);
    await row.click();
    const detail = wv.locator('#token-detail');
    await detail.waitFor({ timeout: 30_000 });
    const title = await detail.locator('.token-title .token').innerText();
    if (title !== token) throw new Error(`detail shows "${title}", expected "${token}"`);
    await wv.locator('#source-weights .bar-row').first().waitFor({ timeout: 15_000 });
    const before = await barsOf(wv, 'source-weights');
    if (!before.length || before.some((b) => !/=\d/.test(b))) throw new Error(`source weights not listed: ${JSON.stringify(before)}`);
    checkSumsToOne(before);
    t.log(`weights at start: ${before.join(' ')}`);
    await t.shot('sources');

    // Move the slider the way a user does with the keyboard: focus, then Home (α = minimum).
    const slider = wv.locator('#alpha-slider');
    const alphaBefore = await wv.locator('#alpha-value').innerText();
    await slider.focus();
    await slider.press('Home');
    await wv.locator('#alpha-value').filter({ hasNotText: alphaBefore }).waitFor({ timeout: 10_000 });
    const deadline = Date.now() + 10_000;
    let after = before;
    while (Date.now() < deadline && JSON.stringify(after) === JSON.stringify(before)) {
      await t.page.waitForTimeout(200);
      after = await barsOf(wv, 'source-weights');
    }
    t.log(`weights at α=${await wv.locator('#alpha-value').innerText()}: ${after.join(' ')}`);
    if (JSON.stringify(after) === JSON.stringify(before)) throw new Error(`moving α from ${alphaBefore} did not change the weights: ${before.join(' ')}`);
    if (after.length <= before.length) throw new Error(`a smaller α should spread the weight over more source tokens: ${before.length} → ${after.length}`);
    await t.shot();
  },
};

/** The listed weights are an entmax distribution: they sum to 1 (up to the 3 printed decimals). */
function checkSumsToOne(bars) {
  const sum = bars.reduce((acc, b) => acc + Number(b.split('=').pop()), 0);
  if (Math.abs(sum - 1) > 0.002 * bars.length + 0.002) throw new Error(`source weights sum to ${sum.toFixed(3)}, not 1: ${bars.join(' ')}`);
}
