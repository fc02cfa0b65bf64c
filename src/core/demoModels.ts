// The bundled demo models (test/fixtures, staged into dist/demo for the extension) are tiny and
// generated: a 2-layer, 64-wide English BERT MLM with seeded random weights, a toy multilingual
// bridge and a small Korean WordPiece tokenizer. Every figure made with them (the demo's nDCG, the
// extension's evaluations of the demo model) shows that the chain runs, not how good a transfer is,
// and every place that shows such a figure says so with the same words. Pure: no Node imports (the
// webview bundles it).

/** One line, shown by `sembridge demo` and the extension's Evaluation view. */
export const DEMO_MODELS_NOTICE =
  'These numbers come from the tiny bundled demo models (a 64-wide English BERT with generated weights, a toy bridge, a small Korean tokenizer): they show that the chain runs and mean nothing about retrieval quality. Run the quality benchmark (README "Quality") or your own models for real figures.';

/** true when `path` is one of `roots` or lies inside one (either path separator). */
export function isUnderAny(path: string | undefined, roots: readonly string[]): boolean {
  if (!path) return false;
  const norm = (p: string) => p.replace(/[\\/]+$/, '');
  const p = norm(path);
  return roots.some((r0) => {
    const r = norm(r0);
    return r.length > 0 && (p === r || p.startsWith(r + '/') || p.startsWith(r + '\\'));
  });
}

/**
 * Whether a model folder was made from the demo models: the folder itself lies in a demo root, or
 * its sembridge/report.json names a source or bridge inside one.
 */
export function madeWithDemoModels(modelDir: string | undefined, report: unknown, roots: readonly string[]): boolean {
  if (isUnderAny(modelDir, roots)) return true;
  const inputs = (report as { inputs?: { source?: { path?: unknown }; bridge?: { path?: unknown } } } | undefined)?.inputs;
  const paths = [inputs?.source?.path, inputs?.bridge?.path].filter((p): p is string => typeof p === 'string');
  return paths.some((p) => isUnderAny(p, roots));
}
