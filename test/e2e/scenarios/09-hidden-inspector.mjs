// Scenario 9 (issue 16): with the inspector hidden behind another tab of its group, the hover's
// "inspect" link still opens the token, and a selection preview still arrives, with the terms of the
// new selection (the dimensions match the inline decoration's). "Switch Model…" lists the model.
import { commandTitle, ensureModel } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    const modelDir = await ensureModel(t);
    const { repo } = t.paths;
    await t.wb.runCommand(commandTitle(repo, /^Open Inspector$/));
    await t.wb.webview().locator('#app[data-state="ready"]').waitFor({ timeout: 30_000 });
    // the inspector's group is active: a file opened now covers the inspector's tab
    await t.wb.openFile('corpus/diary.txt');
    const inspectorTab = t.page.locator('.tabs-container .tab', { hasText: 'SemBridge Inspector' });
    if (await inspectorTab.evaluate((el) => el.classList.contains('active'))) throw new Error('the inspector tab is still in front');

    const hover = await t.wb.hoverWord('학교에', 60_000);
    await hover.getByText('SemBridge').first().waitFor({ timeout: 10_000 });
    await hover.getByText('inspect').first().click();
    const wv = t.wb.webview();
    await wv.locator('#token-detail').waitFor({ timeout: 30_000 });
    t.log(`inspect link opened token ${await wv.locator('#token-detail').getAttribute('data-token-id')} in the hidden inspector`);
    await t.shot('inspect-link');

    // hide it again, preview a selection: the preview is delivered when the page is back, and it is
    // the new selection's (not the terms of whatever the expansion view held before)
    await t.wb.openFile('corpus/diary.txt');
    await t.wb.selectText('가족과 함께 김치찌개를');
    await t.wb.runCommand(commandTitle(repo, /^Preview Sparse Representation/));
    const wv2 = t.wb.webview();
    await wv2.locator('#expansion-result[data-text]').waitFor({ timeout: 60_000 });
    const shownText = await wv2.locator('#expansion-result').getAttribute('data-text');
    if (!shownText?.includes('김치찌개')) throw new Error(`the expansion terms are for "${shownText}", not the selection`);
    const stats = await wv2.locator('#expansion-target .stats').innerText();
    const dims = /([\d,]+) active dimensions/.exec(stats)?.[1]?.replace(/,/g, '');
    const inline = await t.page.evaluate(() => {
      for (const el of document.querySelectorAll('.editor-instance .view-lines span')) {
        const c = getComputedStyle(el, '::after').content;
        if (c && c.includes('⟶')) return c;
      }
      return '';
    });
    const inlineDims = /\((\d+) dims/.exec(inline)?.[1];
    t.log(`expansion: ${stats}; inline: ${inline}`);
    if (inlineDims && dims && inlineDims !== dims) throw new Error(`the inspector shows ${dims} dims, the inline decoration ${inlineDims}`);
    await t.shot('preview-hidden');

    // Switch Model… lists the transferred model with source → target, the active one checked
    await t.wb.runCommand(commandTitle(repo, /^Switch Model/));
    await t.wb.waitForQuickInput(/Switch Model/);
    const name = modelDir.split('/').pop();
    const row = t.wb.quickInputRows(name).first();
    await row.waitFor({ timeout: 10_000 });
    const text = await row.innerText();
    t.log(`switch model row: ${text.replace(/\s+/g, ' ')}`);
    if (!/bert-mlm-en → ko-wordpiece/.test(text)) throw new Error(`the row does not say source → target: ${text}`);
    if ((await row.locator('.codicon-check').count()) === 0) throw new Error('the active model is not marked');
    await t.shot('switch-model');
    await t.page.keyboard.press('Escape');
  },
};
