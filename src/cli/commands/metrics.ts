// `sembridge metrics --qrels FILE --run FILE`: trec_eval-compatible metrics for any TREC run.
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { loadQrels, loadTrecRun } from '../../core/corpus/trecFiles';
import { DEFAULT_MEASURES, evaluateRun, metricsToJson } from '../../core/eval/metrics';
import type { CliCommand } from '../command';
import { positiveInt, reportProblems, splitList } from '../retrievalOptions';

export const command: CliCommand = {
  help: `usage: sembridge metrics --qrels FILE --run FILE [options]

Scores a TREC run (qid Q0 docid rank score tag) against judgments, with trec_eval's definitions:
runs are re-ranked by score, ties by docid descending; only queries with both judgments and
results are averaged unless --complete is given.

  --qrels FILE          TREC qrels (qid 0 docid rel) or BEIR TSV (query-id corpus-id score, header)
  --run FILE            TREC run file
  --measures LIST       comma-separated ir_measures names (default ${DEFAULT_MEASURES.join(',')});
                        known: nDCG@k, R@k, RR@k (= MRR@k), P@k, AP, AP@k
  --relevance-level N   lowest grade counted as relevant (default 1, as trec_eval -l)
  --complete            average over every judged query, 0 for those missing (trec_eval -c)
  --per-query           also print each query's values
  --json                print one JSON object keyed by the measure names (RR@k also as MRR@k)`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        qrels: { type: 'string' },
        run: { type: 'string' },
        measures: { type: 'string' },
        'relevance-level': { type: 'string' },
        complete: { type: 'boolean', default: false },
        'per-query': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.qrels) throw new SemBridgeError('is required', '--qrels');
    if (!values.run) throw new SemBridgeError('is required', '--run');
    const { qrels, problems } = await loadQrels(values.qrels);
    reportProblems(problems);
    const run = await loadTrecRun(values.run);
    const result = evaluateRun(qrels, run, {
      measures: splitList(values.measures) ?? DEFAULT_MEASURES,
      relevanceLevel: values['relevance-level'] === undefined ? 1 : positiveInt(values['relevance-level'], '--relevance-level'),
      completeQueries: values.complete,
    });
    if (result.numQueries === 0) throw new SemBridgeError('no query has both judgments and results; do the query ids of the run and the qrels match?', values.run);
    const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
    if (result.unjudgedRunQueries) console.error(`note: ignored ${n(result.unjudgedRunQueries, 'run query', 'run queries')} without judgments`);
    if (result.judgedQueriesWithoutResults && !values.complete) {
      console.error(`note: left out ${n(result.judgedQueriesWithoutResults, 'judged query', 'judged queries')} without results (--complete counts them as 0)`);
    }
    if (values.json) {
      const out: Record<string, unknown> = { ...metricsToJson(result.means), numQueries: result.numQueries };
      if (values['per-query']) out.perQuery = Object.fromEntries([...result.perQuery].map(([q, v]) => [q, metricsToJson(v)]));
      console.log(JSON.stringify(out));
      return 0;
    }
    if (values['per-query']) {
      for (const [qid, v] of result.perQuery) for (const [m, x] of Object.entries(v)) console.log(`${m.padEnd(10)}\t${qid}\t${x.toFixed(4)}`);
    }
    for (const [m, x] of Object.entries(result.means)) console.log(`${m.padEnd(10)}\tall\t${x.toFixed(4)}`);
    console.log(`${'num_q'.padEnd(10)}\tall\t${result.numQueries}`);
    return 0;
  },
};
