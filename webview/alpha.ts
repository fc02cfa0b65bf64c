// The live α slider: entmax over the token's cached top-K cosines, recomputed in the webview on
// every input event (O(K), no round trip to the host).
import { entmaxOverTopK } from '../src/core/entmax';
import type { SourceWeight, TokenDetail } from '../src/protocol/inspectorProtocol';

export interface AlphaResult {
  weights: SourceWeight[];
  support: number;
  /** false when source tokens outside the cached list might enter the support at this α */
  certified: boolean;
}

export function weightsAtAlpha(detail: Pick<TokenDetail, 'candidates' | 'nextCosine'>, alpha: number): AlphaResult {
  const c = detail.candidates;
  if (c.length === 0) return { weights: [], support: 0, certified: true };
  const r = entmaxOverTopK(
    c.map((x) => x.cosine),
    alpha,
    detail.nextCosine,
  );
  const weights: SourceWeight[] = [];
  for (let i = 0; i < c.length; i++) if (r.weights[i] > 0) weights.push({ id: c[i].id, token: c[i].token, cosine: c[i].cosine, weight: r.weights[i] });
  return { weights, support: weights.length, certified: r.certified };
}
