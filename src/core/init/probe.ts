// Diagnostics right after init: a few target-language sentences encoded by the source model and
// by the new one: active dimensions per text, FLOPS over the probe set, heaviest expansion terms.
// The probe language is the built-in set the target tokenizer covers best (fewest [UNK]).
import { flopsFromCounts, termActivationCounts } from '../eval/sparsity';
import type { OnnxSparseEncoder } from '../encode/sparseEncoder';
import type { LoadedTokenizer } from '../tokens';

/** Short everyday sentences; the topics (home, water, city, school, river, music) match the fixtures. */
export const PROBE_SENTENCES: Record<string, string[]> = {
  ko: ['우리 집은 강 옆에 있습니다.', '깨끗한 물은 모든 도시에 중요합니다.', '가장 가까운 학교는 어디에 있습니까?', '나는 음악을 듣는 것을 좋아합니다.'],
  zh: ['我的家在河边。', '干净的水对每个城市都很重要。', '最近的学校在哪里？', '我喜欢听音乐。'],
  ar: ['بيتي بجانب النهر.', 'الماء النظيف مهم لكل مدينة.', 'أين أقرب مدرسة؟', 'أحب الاستماع إلى الموسيقى.'],
  hi: ['मेरा घर नदी के पास है।', 'साफ पानी हर शहर के लिए ज़रूरी है।', 'सबसे नज़दीकी स्कूल कहाँ है?', 'मुझे संगीत सुनना पसंद है।'],
  ru: ['Мой дом стоит у реки.', 'Чистая вода важна для каждого города.', 'Где находится ближайшая школа?', 'Я люблю слушать музыку.'],
  ja: ['私の家は川のそばにあります。', 'きれいな水はすべての都市にとって大切です。', '一番近い学校はどこですか？', '私は音楽を聴くのが好きです。'],
  de: ['Mein Haus steht am Fluss.', 'Sauberes Wasser ist für jede Stadt wichtig.', 'Wo ist die nächste Schule?', 'Ich höre gern Musik.'],
  fr: ['Ma maison est près de la rivière.', "L'eau propre est importante pour chaque ville.", "Où est l'école la plus proche ?", "J'aime écouter de la musique."],
  es: ['Mi casa está junto al río.', 'El agua limpia es importante para cada ciudad.', '¿Dónde está la escuela más cercana?', 'Me gusta escuchar música.'],
  en: ['The house by the river has a small garden.', 'Clean water is important for every city.', 'Where is the nearest school?', 'I like to listen to music.'],
};

/** The probe language whose sentences the tokenizer knows best: fewest unknown tokens, then fewest tokens per character. */
export function pickProbeLanguage(tokenizer: LoadedTokenizer): { language: string; unknownRate: number } {
  const unk = tokenizer.specialTokens.unk;
  let best = { language: 'en', unknownRate: Infinity, perChar: Infinity };
  for (const [language, texts] of Object.entries(PROBE_SENTENCES)) {
    let tokens = 0;
    let unknown = 0;
    let chars = 0;
    for (const t of texts) {
      const ids = tokenizer.encode(t, { addSpecialTokens: false });
      tokens += ids.length;
      unknown += ids.filter((id) => id === unk).length;
      chars += t.length;
    }
    const unknownRate = tokens ? unknown / tokens : 1;
    const perChar = tokens / chars;
    if (unknownRate < best.unknownRate - 1e-9 || (Math.abs(unknownRate - best.unknownRate) < 1e-9 && perChar < best.perChar))
      best = { language, unknownRate, perChar };
  }
  return { language: best.language, unknownRate: best.unknownRate };
}

export interface ProbeDiagnostics {
  texts: number;
  activePerText: number[];
  meanActive: number;
  /** FLOPS of the probe set against itself (each text as query and as document) */
  flops: number;
  topTerms: { text: string; terms: { term: string; weight: number }[] }[];
}

export async function probeDiagnostics(encoder: OnnxSparseEncoder, texts: string[], topK = 8): Promise<ProbeDiagnostics> {
  const vectors = await encoder.encode(texts, { kind: 'document' });
  const counts = termActivationCounts(vectors, encoder.vocabSize);
  const activePerText = vectors.map((v) => v.ids.length);
  return {
    texts: texts.length,
    activePerText,
    meanActive: activePerText.reduce((a, b) => a + b, 0) / Math.max(1, texts.length),
    flops: flopsFromCounts(counts, counts),
    topTerms: texts.map((text, i) => ({
      text,
      terms: encoder.topTerms(vectors[i], topK).map((t) => ({ term: t.term, weight: Number(t.weight.toFixed(4)) })),
    })),
  };
}
