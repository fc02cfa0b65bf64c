// Scenario 4: hover over a word in a Korean text file → the hover shows its target tokens and their
// source tokens with weights.
import { ensureModel } from '../sembridge.mjs';

export const scenario = {
  timeoutMs: 300_000,
  async run(t) {
    await ensureModel(t);
    await t.wb.openFile('corpus/diary.txt');
    const hover = await t.wb.hoverWord('학교에', 60_000);
    await hover.getByText('SemBridge').first().waitFor({ timeout: 10_000 });
    const text = await hover.innerText();
    t.log(`hover: ${text}`);
    if (!/target token/.test(text)) throw new Error(`hover lists no target tokens: ${text}`);
    const rows = await hover.locator('table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
    if (rows.length === 0) throw new Error(`hover shows no source-token table: ${text}`);
    for (const [token, weight] of rows) {
      if (!token || !(Number(weight) > 0 && Number(weight) <= 1)) throw new Error(`hover row without a source token and a weight in (0, 1]: ${JSON.stringify(rows)}`);
    }
    await t.shot();
  },
};
