"""Stage `finetune`: the fine-tuning hand-off in miniature. Each kept initialisation (the models `compare
--keep-models` wrote, e.g. models/sembridge-alpha4, models/random) is fine-tuned for the same budget on the
target-language train-article questions -> sentences (train/qa-<lang>.jsonl) with the SparseEncoderTrainer
(SpladeLoss + in-batch negatives), logging the loss per step and nDCG@10 on the test articles after each epoch
(sentence-transformers' SparseInformationRetrievalEvaluator). The test-article numbers are only recorded; no
choice (steps, learning rate, which model) is made from them.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

from common import check_train_record, load_test_articles, read_jsonl, seed_everything, write_json


def target_pairs(cache: Path, lang: str) -> list[tuple[str, str]]:
    test = load_test_articles()
    pairs = []
    for r in read_jsonl(cache / "data" / "train" / f"qa-{lang}.jsonl"):
        check_train_record(r, test, f"train/qa-{lang}.jsonl")
        pairs.append((r["query"], r["positives"][0]["text"]))
    return pairs


def evaluator(cache: Path, lang: str):
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    d = cache / "data" / "eval" / f"xquadr-{lang}"
    corpus = {r["_id"]: r["text"] for r in read_jsonl(d / "corpus.jsonl")}
    queries = {r["_id"]: r["text"] for r in read_jsonl(d / "queries.jsonl")}
    rel: dict[str, set[str]] = {}
    for line in (d / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, doc, s = line.split("\t")
        if int(s) > 0:
            rel.setdefault(q, set()).add(doc)
    return SparseInformationRetrievalEvaluator(queries=queries, corpus=corpus, relevant_docs=rel, name=f"xquadr-{lang}-test", write_csv=False,
                                               show_progress_bar=False, batch_size=32, accuracy_at_k=[1], precision_recall_at_k=[100], map_at_k=[10])


EVAL_MAX_LENGTH = 256  # evaluation sees whole sentences (TS compare does too: with it, epoch 0 matches compare's zero-shot cell)


def ndcg(ev, model) -> float:
    train_len = model.max_seq_length
    model.max_seq_length = EVAL_MAX_LENGTH
    try:
        res = ev(model)
    finally:
        model.max_seq_length = train_len
    key = next(k for k in res if k.endswith("dot_ndcg@10"))
    return float(res[key])


def run(cache: Path, compare_dir: Path, out: Path, langs: list[str], inits: list[str], seed: int, threads: int, epochs: int, batch: int, lr: float,
        lambda_q: float, lambda_d: float, max_seq_length: int, resume_key: str = "", suffix: str = "") -> dict:
    """resume_key identifies the inputs (the compare stamp and these settings): a log with another key is redone.
    suffix tells apart the logs of extra fine-tuning seeds on the same initialisations (run.py --finetune-seeds)."""
    from sentence_transformers import SparseEncoder
    from transformers import TrainerCallback

    from splade_stage import train_sparse

    out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for lang in langs:
        pairs = target_pairs(cache, lang)
        steps_per_epoch = math.ceil(len(pairs) / batch)
        ev = evaluator(cache, lang)
        for init in inits:
            log_path = out / f"{lang}-{init}{suffix}.json"
            if log_path.exists() and json.loads(log_path.read_text()).get("resume_key") == resume_key:
                summary[f"{lang}/{init}{suffix}"] = json.loads(log_path.read_text())["ndcg_per_epoch"]
                continue  # an interrupted run resumes per (language, init)
            src = compare_dir / lang / "models" / init
            if not src.exists():
                print(f"finetune: skipping {lang}/{init}: {src} not found (not among the compared methods?)")
                continue
            seed_everything(seed, threads)
            model = SparseEncoder(str(src))
            model.max_seq_length = max_seq_length
            t0 = time.time()
            curve = [ndcg(ev, model)]  # epoch 0 = zero-shot
            work = out / f".work-{lang}-{init}{suffix}"

            class EpochEval(TrainerCallback):
                def on_epoch_end(self, args, state, control, **kw):
                    curve.append(ndcg(ev, model))
                    print(f"finetune {lang}/{init} epoch {len(curve) - 1}/{epochs}: test nDCG@10 {curve[-1]:.3f}", flush=True)

            losses = train_sparse(model, pairs, seed, 0, batch, lr, lambda_q, lambda_d, work, callbacks=[EpochEval()], epochs=epochs)
            shutil.rmtree(work, ignore_errors=True)
            write_json(log_path, {"resume_key": resume_key, "lang": lang, "init": init, "seed": seed, "epochs": epochs, "steps_per_epoch": steps_per_epoch, "batch": batch, "lr": lr,
                                  "pairs": len(pairs), "seconds": round(time.time() - t0, 1), "ndcg_per_epoch": curve, "loss_per_step": losses})
            summary[f"{lang}/{init}{suffix}"] = curve
    return summary
