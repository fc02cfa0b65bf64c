// Diagnostics right after init: a few target-language sentences encoded by the source model and
// by the new one: active dimensions per text, FLOPS over the probe set, heaviest expansion terms.
// The probe language follows the script of the target vocabulary (see pickProbeLanguage).
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

const SCRIPTS: [string, RegExp][] = [
  ['ko', /\p{Script=Hangul}/u],
  ['ja', /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['zh', /\p{Script=Han}/u],
  ['ar', /\p{Script=Arabic}/u],
  ['hi', /\p{Script=Devanagari}/u],
  ['ru', /\p{Script=Cyrillic}/u],
];
const LATIN = ['en', 'de', 'fr', 'es'];

/**
 * The probe language of a target tokenizer: the non-Latin script most of its vocabulary is written
 * in (Han counts as Japanese only when kana are frequent too); for a Latin-script vocabulary, the
 * Latin-script language it splits into the fewest pieces, with the fewest unknown tokens.
 */
export function pickProbeLanguage(tokenizer: LoadedTokenizer): { language: string; unknownRate: number } {
  const counts = new Map<string, number>();
  for (const token of tokenizer.vocab)
    for (const [lang, re] of SCRIPTS)
      if (re.test(token)) {
        counts.set(lang, (counts.get(lang) ?? 0) + 1);
        break;
      }
  const unk = tokenizer.specialTokens.unk;
  const rate = (language: string): { unknownRate: number; perChar: number } => {
    let tokens = 0;
    let unknown = 0;
    let chars = 0;
    for (const t of PROBE_SENTENCES[language]) {
      const ids = tokenizer.encode(t, { addSpecialTokens: false });
      tokens += ids.length;
      unknown += ids.filter((id) => id === unk).length;
      chars += t.length;
    }
    return { unknownRate: tokens ? unknown / tokens : 1, perChar: tokens / Math.max(chars, 1) };
  };
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  // a script counts when it covers a real share of the vocabulary (a few stray characters do not)
  if (ranked.length && ranked[0][1] >= Math.max(20, tokenizer.vocab.length * 0.05)) {
    let language = ranked[0][0];
    if (language === 'zh' && (counts.get('ja') ?? 0) >= ranked[0][1] * 0.2) language = 'ja';
    return { language, unknownRate: rate(language).unknownRate };
  }
  let best = { language: 'en', unknownRate: Infinity, perChar: Infinity };
  for (const language of LATIN) {
    const r = rate(language);
    if (r.unknownRate < best.unknownRate - 1e-9 || (Math.abs(r.unknownRate - best.unknownRate) < 1e-9 && r.perChar < best.perChar))
      best = { language, ...r };
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
