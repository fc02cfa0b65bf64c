// Scenario 6: index the workspace corpus → search → hits are listed; clicking one opens its file.
import { basename } from 'node:path';
import { answerPrompts, commandTitle, ensureModel } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    await ensureModel(t);
    const { repo } = t.paths;
    await t.wb.runCommand(commandTitle(repo, /^Index Corpus/));
    const indexed = t.wb.notification(/indexed \d+ passages/);
    await answerPrompts(t, [{ match: /what to index/, pick: /Workspace files/ }], () => indexed.first().isVisible(), 240_000);
    t.log(await indexed.first().innerText());
    t.state.indexed = true;
    await t.shot('indexed');
    await t.wb.runCommand('Notifications: Clear All Notifications');

    await t.wb.runCommand(commandTitle(repo, /^Search Corpus/));
    await t.wb.waitForQuickInput(/Search Corpus|Query/);
    await t.wb.answerQuickInput('학교');
    const wv = t.wb.webview();
    const hits = wv.locator('#hits article.hit');
    await hits.first().waitFor({ timeout: 60_000 });
    const n = await hits.count();
    t.log(`${n} hits: ${await wv.locator('#retrieval-meta').innerText()}`);
    await t.shot('hits');

    // Click a plain-text hit (scenario 07 covers the HTML/script document).
    const targets = await hits.evaluateAll((els) => els.map((e) => e.querySelector('.open-hit')?.getAttribute('title') ?? ''));
    t.log(`hit files: ${targets.join(', ')}`);
    let index = targets.findIndex((p) => p && !p.includes('xss-test'));
    if (index < 0) index = targets.findIndex((p) => p);
    if (index < 0) throw new Error('no hit has a file to open');
    const file = basename(targets[index].replace(/:\d+$/, ''));
    await hits.nth(index).locator('.hit-title.clickable').click();
    await t.wb.activeTab(file).waitFor({ timeout: 30_000 });
    t.log(`opened ${file}`);
    await t.shot();
  },
};
