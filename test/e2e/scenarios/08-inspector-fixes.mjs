// Scenario 8 (issue 16): the inspector shows the truth and works from the keyboard at the default
// side-by-side width. Mapping: arrows + Enter open a token; an α preview stays with its token and the
// detail says where the weights come from; the detail stacks under the table when narrow and no
// header or number clips; the Report tab shows the transfer report; "no comparison yet" is neutral.
import { commandTitle, ensureModel } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    await ensureModel(t);
    await t.wb.runCommand(commandTitle(t.paths.repo, /^Open Inspector$/));
    const wv = t.wb.webview();
    await wv.locator('#app[data-state="ready"]').waitFor({ timeout: 30_000 });
    await wv.locator('vscode-tab-header', { hasText: /^\s*Mapping\s*$/i }).click();
    await wv.locator('#mapping-search').fill('');
    await wv.locator('#mapping-match').selectOption('bridged');
    // the list reloads after a short debounce: wait until the rows shown are the filtered ones
    const deadline = Date.now() + 30_000;
    for (;;) {
      const kinds = await wv.locator('#mapping-list .vrow:not(.pending) .cell.match').evaluateAll((els) => els.slice(0, 4).map((e) => e.textContent));
      if (kinds.length >= 3 && kinds.every((k) => k === 'bridged')) break;
      if (Date.now() > deadline) throw new Error(`the bridged filter did not apply: ${kinds.join(', ')}`);
      await t.page.waitForTimeout(200);
    }

    // keyboard: focus the listbox, two rows down, Enter opens that token
    const list = wv.locator('#mapping-list');
    await list.focus();
    await list.press('ArrowDown');
    await list.press('ArrowDown');
    const active = await list.getAttribute('aria-activedescendant');
    if (active !== 'mapping-list-row-1') throw new Error(`arrows did not move the active row (aria-activedescendant=${active})`);
    const firstId = await wv.locator('#mapping-list-row-1').getAttribute('data-id');
    await list.press('Enter');
    await wv.locator(`#token-detail[data-token-id="${firstId}"]`).waitFor({ timeout: 30_000 });
    const madeWith = /made with α = ([\d.]+)/.exec(await wv.locator('#token-detail').innerText())?.[1];
    if (!madeWith) throw new Error('the detail does not say which α the mapping was made with');
    const summary = () => wv.locator('#alpha-summary').innerText();
    if (!/Weights from the mapping file/.test(await summary())) throw new Error(`at the mapping's α the detail should show the file's weights: ${await summary()}`);

    // an α preview on this token ...
    await wv.locator('#alpha-slider').focus();
    await wv.locator('#alpha-slider').press('Home');
    await wv.locator('#alpha-summary', { hasText: /Preview at α = 1\.05, not the mapping file/ }).waitFor({ timeout: 10_000 });
    await t.shot('alpha-preview');
    // ... does not carry over to the next token
    await list.focus();
    await list.press('ArrowDown');
    const secondId = await wv.locator('#mapping-list-row-2').getAttribute('data-id');
    await list.press('Enter');
    await wv.locator(`#token-detail[data-token-id="${secondId}"]`).waitFor({ timeout: 30_000 });
    const alphaNow = await wv.locator('#alpha-value').innerText();
    if (Number(alphaNow) !== Number(madeWith)) throw new Error(`the next token opened at α ${alphaNow}, not at its own α ${madeWith}`);
    if (!/Weights from the mapping file/.test(await summary())) throw new Error(`next token: ${await summary()}`);
    t.log(`token ${firstId} previewed at α 1.05; token ${secondId} opened at α ${alphaNow}: ${await summary()}`);

    // layout at the width VS Code gives the side-by-side inspector
    const layout = await wv.locator('body').evaluate(() => {
      const box = (s) => document.querySelector(s)?.getBoundingClientRect();
      const table = box('#view-mapping .table');
      const detail = box('#detail-pane');
      const clipped = [...document.querySelectorAll('#view-mapping .vrow.header .cell, #mapping-list .vrow .num')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent);
      return { width: innerWidth, stacked: !!table && !!detail && detail.top >= table.bottom - 1, clipped };
    });
    t.log(`inspector width ${layout.width} px; detail ${layout.stacked ? 'under' : 'beside'} the table`);
    if (layout.width < 700 && !layout.stacked) throw new Error(`at ${layout.width} px the detail should stack under the table`);
    if (layout.clipped.length) throw new Error(`clipped headers/numbers: ${layout.clipped.join(', ')}`);
    await t.shot('keyboard-narrow');

    // the transfer report as a view
    await wv.locator('vscode-tab-header', { hasText: /^\s*Report\s*$/i }).click();
    await wv.locator('#report-counts').waitFor({ timeout: 30_000 });
    const counts = await wv.locator('#report-counts').innerText();
    if (!/bridged/.test(counts)) throw new Error(`report counts: ${counts}`);
    t.log(`report: ${counts.replace(/\s+/g, ' ')}`);
    await t.shot('report');

    // no comparison yet: a neutral empty state, not a red error
    await wv.locator('vscode-tab-header', { hasText: /^\s*Evaluation\s*$/i }).click();
    await wv.locator('#view-evaluation[data-loaded="true"]').waitFor({ timeout: 30_000 });
    const kind = await wv.locator('#evaluation-error').getAttribute('data-kind');
    if (kind !== 'empty') throw new Error(`"no comparison yet" is shown as ${kind}`);
    await t.shot();
  },
};
