// Scenario 7: a corpus document containing HTML and script (corpus/xss-test.md) is shown as text in
// the search results and in the editor, and runs nothing: no dialog, no element created from it,
// no javascript: link. (Webview iframes are sandboxed without allow-modals, so the element checks
// carry the weight; a dialog in the workbench itself would also fail the scenario.)
import { commandTitle, ensureModel } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    await ensureModel(t);
    const { repo } = t.paths;
    const dialogsBefore = t.dialogs.length;
    if (!t.state.indexed) {
      // scenario 06 indexes the workspace; index here when it was not run
      await t.wb.runCommand(commandTitle(repo, /^Index Corpus/));
      await t.wb.pick(/Workspace files/);
      await t.wb.waitForNotification(/indexed \d+ passages/, 240_000);
      await t.wb.runCommand('Notifications: Clear All Notifications');
    }
    await t.wb.runCommand(commandTitle(repo, /^Search Corpus/));
    await t.wb.waitForQuickInput(/Search Corpus|Query/);
    await t.wb.answerQuickInput('보안 테스트 문서 웹뷰 이미지 태그');
    const wv = t.wb.webview();
    const hit = wv.locator('#hits article.hit', { hasText: /<script>|<img|onerror/ }).first();
    await hit.waitFor({ timeout: 60_000 });
    const snippet = await hit.locator('.hit-snippet').innerText();
    t.log(`snippet: ${snippet}`);
    // Nothing from the document became markup
    const injected = await wv.locator('#hits script, #hits img, #hits iframe, #hits a[href^="javascript"], #hits [onerror]').count();
    if (injected) throw new Error(`${injected} element(s) from the document were created in the results`);
    if (!/<script>|<img/.test(snippet)) throw new Error(`the snippet does not show the markup as text: ${snippet}`);
    // The snippet is text plus <mark> highlights, nothing else.
    const tags = await hit.locator('.hit-snippet *').evaluateAll((els) => [...new Set(els.map((e) => e.tagName.toLowerCase()))]);
    if (tags.some((tag) => tag !== 'span' && tag !== 'mark')) throw new Error(`the snippet contains elements: ${tags.join(', ')}`);
    await t.page.waitForTimeout(1000); // give any script a chance to run
    if (t.dialogs.length > dialogsBefore) throw new Error(`a dialog opened: ${t.dialogs.slice(dialogsBefore).join('; ')}`);
    await t.shot('results');

    // Opening the document shows its markup as plain text in an editor.
    await hit.locator('.hit-title.clickable').click();
    await t.wb.activeTab('xss-test.md').waitFor({ timeout: 30_000 });
    await t.page.locator('.editor-instance .view-lines', { hasText: '<script>alert(1)</script>' }).first().waitFor({ timeout: 10_000 });
    await t.page.waitForTimeout(500);
    if (t.dialogs.length > dialogsBefore) throw new Error(`a dialog opened: ${t.dialogs.slice(dialogsBefore).join('; ')}`);
    await t.shot();
  },
};
