"""Recipe choice for the English SPLADE on a VALIDATION split carved from the TRAIN articles (splits.json
`validation`, 8 of the 32 train articles). Test articles are never read here.

    /work/pyvenv/bin/python bench/quality/py/en_val.py --name base --mlm '{"steps":200}' --splade '{"steps":100}'

Trains `mlm` and `splade` (the stages' own code) on the train articles minus the validation ones (the
WordNet / GCIDE text has no article and is used as is), then scores the model on the validation articles'
questions against their sentences (the same sembridge `metrics` code as every other number), next to BM25
on the same pool. Results are appended to <cache>/val/results.jsonl; MLM models are reused across tries
with the same MLM parameters. The profile in run.py is then set from these numbers and trains on all train
articles.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True

from common import HERE, REPO, load_test_articles, read_jsonl, write_json, write_jsonl  # noqa: E402


def validation_articles() -> list[int]:
    s = json.loads((HERE / "splits.json").read_text())
    val = s["validation"]
    if set(val) & load_test_articles() or not set(val) <= set(s["train"]):
        raise SystemExit("error: splits.json: 'validation' must be a subset of 'train'")
    return val


def build_val(cache: Path, data: Path, out: Path) -> Path:
    """BEIR folder: validation-article questions (train/qa-en.jsonl) against validation-article sentences."""
    val = set(validation_articles())
    queries = [r for r in read_jsonl(cache / "data" / "train" / "qa-en.jsonl") if r["article"] in val]
    docs = [d for d in read_jsonl(data / "xquadr-en" / "corpus.jsonl") if int(d["_id"].split("-")[0]) in val]
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "queries.jsonl", ({"_id": q["id"], "text": q["query"]} for q in queries))
    write_jsonl(out / "corpus.jsonl", ({"_id": d["_id"], "title": "", "text": d["text"]} for d in docs))
    (out / "qrels").mkdir(exist_ok=True)
    with open(out / "qrels" / "test.tsv", "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q in queries:
            for p in q["positives"]:
                f.write(f"{q['id']}\t{p['id']}\t1\n")
    return out


def metrics(folder: Path, run_path: Path) -> dict:
    r = subprocess.run(["node", str(REPO / "dist" / "cli.js"), "metrics", "--qrels", str(folder / "qrels" / "test.tsv"), "--run", str(run_path),
                        "--complete", "--json"], capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise SystemExit(f"error: sembridge metrics on {run_path}: {r.stderr.strip()}")
    m = json.loads(r.stdout)
    return {k: round(m[k], 4) for k in ["nDCG@10", "R@100", "MRR@10"]}


def write_run(path: Path, qids, dids, scores) -> None:
    import torch

    k = min(100, scores.shape[1])
    top = torch.topk(scores, k, dim=1)
    with open(path, "w") as f:
        for qi, q in enumerate(qids):
            for rank, (s, di) in enumerate(zip(top.values[qi].tolist(), top.indices[qi].tolist())):
                if s > 0:
                    f.write(f"{q} Q0 {dids[di]} {rank + 1} {s:.6f} x\n")


def score_bm25(folder: Path, out: Path) -> dict:
    import bm25s
    import torch
    from bm25_stage import tokenize

    docs, queries = read_jsonl(folder / "corpus.jsonl"), read_jsonl(folder / "queries.jsonl")
    r = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    r.index([tokenize(x["text"]) for x in docs], show_progress=False)
    ids, sc = r.retrieve([tokenize(q["text"]) for q in queries], k=len(docs), show_progress=False, n_threads=1)
    full = torch.zeros(len(queries), len(docs))
    for qi in range(len(queries)):
        full[qi, torch.tensor(ids[qi].astype("int64"))] = torch.tensor(sc[qi], dtype=torch.float32)
    write_run(out, [q["_id"] for q in queries], [d["_id"] for d in docs], full)
    return metrics(folder, out)


def score_model(model_dir: Path, folder: Path, out: Path, max_length: int = 256) -> dict:
    import torch
    from sentence_transformers import SparseEncoder

    model = SparseEncoder(str(model_dir), device="cpu")
    model.max_seq_length = max_length
    docs, queries = read_jsonl(folder / "corpus.jsonl"), read_jsonl(folder / "queries.jsonl")
    with torch.no_grad():
        q = model.encode_query([x["text"] for x in queries], batch_size=32, convert_to_tensor=True).to_dense()
        d = model.encode_document([x["text"] for x in docs], batch_size=32, convert_to_tensor=True).to_dense()
    write_run(out, [x["_id"] for x in queries], [x["_id"] for x in docs], q @ d.T)
    m = metrics(folder, out)
    m["active_q"] = round((q > 0).sum(1).float().mean().item(), 1)
    m["active_d"] = round((d > 0).sum(1).float().mean().item(), 1)
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--profile", default="full", help="run.py profile whose mlm/splade parameters are the defaults")
    ap.add_argument("--mlm", default="{}", help="JSON overrides of the profile's mlm parameters")
    ap.add_argument("--splade", default="{}", help="JSON overrides of the profile's splade parameters")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default=str(HERE / ".cache"))
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--eval-mlm", action="store_true", help="also score the MLM model itself as a SPLADE (no SPLADE training)")
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from run import PROFILES  # noqa: E402
    import mlm_stage
    import splade_stage

    P = PROFILES[a.profile]
    cache = Path(a.cache).resolve() / a.profile  # data/ and ext/ from run.py's data and ext stages
    vroot = Path(a.cache).resolve() / "val"
    folder = build_val(cache, Path(a.data), vroot / "data-en")
    exclude = validation_articles()
    mlm_p = {**P["mlm"], **json.loads(a.mlm)}
    spl_p = {**P["splade"], **json.loads(a.splade)}
    res: dict = {"name": a.name, "seed": a.seed, "mlm": mlm_p, "splade": spl_p, "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    bm = vroot / "bm25.json"
    if not bm.exists():
        write_json(bm, score_bm25(folder, vroot / "bm25.run"))
    res["bm25"] = json.loads(bm.read_text())
    mkey = hashlib.sha256(json.dumps([mlm_p, a.seed], sort_keys=True).encode()).hexdigest()[:12]
    mlm_dir = vroot / "mlm" / mkey
    if not (mlm_dir / "config.json").exists():
        t0 = time.time()
        res["mlm_result"] = mlm_stage.run(cache, mlm_dir, a.seed, a.threads, exclude_articles=exclude, **mlm_p)
        res["mlm_seconds"] = round(time.time() - t0, 1)
    else:
        res["mlm_result"] = "reused " + mkey
    if a.eval_mlm:
        # the MLM model read as a SPLADE, no contrastive training: is it a lexical matcher already?
        from sentence_transformers import SparseEncoder
        from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

        m = MLMTransformer(str(mlm_dir), max_seq_length=256)
        tmp = vroot / "mlm-as-splade" / f"{mkey}-a{spl_p.get('active_init', 0)}"
        if spl_p.get("active_init", 0) > 0:  # the splade stage's start point, bias shift included
            import random as _r

            pairs = splade_stage.english_pairs(cache, spl_p["wordnet_pairs"], spl_p["qa_repeat"], a.seed, exclude)
            sample = _r.Random(a.seed).sample(pairs, min(64, len(pairs)))
            res["mlm_bias_shift"] = splade_stage.calibrate_bias(m, [t for pr in sample for t in pr], spl_p["active_init"], spl_p["max_seq_length"])
        SparseEncoder(modules=[m, SpladePooling(pooling_strategy="max", embedding_dimension=m.auto_model.config.vocab_size)]).save(str(tmp))
        res["mlm_as_splade"] = score_model(tmp, folder, vroot / f"{a.name}-mlm.run")
        print("mlm as splade:", res["mlm_as_splade"], flush=True)
    if spl_p.get("steps", 0) > 0:
        out = vroot / "splade" / a.name
        t0 = time.time()
        res["splade_result"] = splade_stage.run(cache, mlm_dir, out, a.seed, a.threads, exclude_articles=exclude, **spl_p)
        res["splade_seconds"] = round(time.time() - t0, 1)
        res["val"] = score_model(out, folder, vroot / f"{a.name}.run")
    print(json.dumps(res, indent=1))
    with open(vroot / "results.jsonl", "a") as f:
        f.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
