"""Stage `bm25`: the lexical reference. bm25s (k1 1.5, b 0.75, Lucene idf) on each language's test-article
sentence pool (eval/xquadr-<lang>), top 100 per query written as a TREC run; the metrics come from the
project's own `sembridge metrics --json`, so BM25 and the sparse models are scored by the same code.

Tokenisation: NFKC, lower-case, split on anything that is not a letter, mark or digit (Python's \\w would split
Hindi words at their vowel signs); CJK characters are single tokens (no Chinese word segmenter offline).
"""
from __future__ import annotations

import json
import subprocess
import unicodedata
from pathlib import Path

from common import REPO, read_jsonl, write_json


def is_cjk(c: str) -> bool:
    o = ord(c)
    return 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


def tokenize(text: str) -> list[str]:
    out, cur = [], []
    for c in unicodedata.normalize("NFKC", text).lower():
        cat = unicodedata.category(c)
        if is_cjk(c):
            if cur:
                out.append("".join(cur))
                cur = []
            out.append(c)
        elif cat[0] in "LMN":
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def run(cache: Path, out: Path, langs: list[str]) -> dict:
    import bm25s

    cache, out = cache.resolve(), out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    res = {}
    for lang in langs:
        d = cache / "data" / "eval" / f"xquadr-{lang}"
        docs = read_jsonl(d / "corpus.jsonl")
        queries = read_jsonl(d / "queries.jsonl")
        retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
        retriever.index([tokenize(x["text"]) for x in docs], show_progress=False)
        k = min(100, len(docs))
        ids, scores = retriever.retrieve([tokenize(q["text"]) for q in queries], k=k, show_progress=False, n_threads=1)
        run_path = out / f"{lang}.run"
        with open(run_path, "w", encoding="utf-8") as f:
            for qi, q in enumerate(queries):
                for rank, (di, s) in enumerate(zip(ids[qi], scores[qi])):
                    if s > 0:
                        f.write(f"{q['_id']} Q0 {docs[int(di)]['_id']} {rank + 1} {float(s):.6f} bm25s\n")
        r = subprocess.run(["node", str(REPO / "dist" / "cli.js"), "metrics", "--qrels", str(d / "qrels" / "test.tsv"), "--run", str(run_path),
                            "--complete", "--json"], capture_output=True, text=True, cwd=REPO)
        if r.returncode != 0:
            raise SystemExit(f"error: sembridge metrics on {run_path}: {r.stderr.strip()}")
        metrics = json.loads(r.stdout)
        write_json(out / f"{lang}.metrics.json", metrics)
        res[lang] = {m: metrics.get(m) for m in ["nDCG@10", "R@100", "MRR@10"]}
        print(f"bm25 {lang}: nDCG@10 {metrics['nDCG@10']:.3f} ({len(queries)} queries, {len(docs)} sentences)")
    return res


if __name__ == "__main__":
    import sys

    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(","))))
