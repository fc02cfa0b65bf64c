// Scenario 5: select text → "Preview Sparse Representation of Selection" → the top terms are shown
// (inline after the selection and in the inspector's expansion view).
import { commandTitle, ensureModel } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    await ensureModel(t);
    await t.wb.openFile('corpus/diary.txt');
    await t.wb.selectText('가족과 함께 김치찌개를');
    await t.wb.runCommand(commandTitle(t.paths.repo, /^Preview Sparse Representation/));
    const wv = t.wb.webview();
    const terms = wv.locator('#expansion-target-terms .bar-row');
    await terms.first().waitFor({ timeout: 60_000 });
    const list = await terms.evaluateAll((rows) => rows.map((r) => `${r.querySelector('.bar-label')?.textContent}=${r.querySelector('.bar-value')?.textContent}`));
    t.log(`top terms: ${list.join(' ')}`);
    if (!list.length) throw new Error('no top terms listed');
    const input = await wv.locator('#expansion-input').inputValue();
    if (!input.includes('김치찌개')) throw new Error(`the expansion view shows "${input}", not the selection`);
    // the inline decoration after the selection (sembridge.preview.decorations, on by default)
    // (Monaco draws `after` decorations as CSS ::after content, not as text nodes)
    const deadline = Date.now() + 10_000;
    let inline = '';
    while (!inline && Date.now() < deadline) {
      inline = await t.page.evaluate(() => {
        for (const el of document.querySelectorAll('.editor-instance .view-lines span')) {
          const c = getComputedStyle(el, '::after').content;
          if (c && c.includes('⟶')) return c;
        }
        return '';
      });
      if (!inline) await t.page.waitForTimeout(200);
    }
    if (!inline) throw new Error('no inline preview (⟶ top terms) after the selection');
    t.log(`inline decoration: ${inline}`);
    await t.shot();
  },
};
