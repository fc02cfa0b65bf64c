"""Diagnostic behind the README's explanation of the table: how distinct the new embedding rows of each kept
compare model are. For the bridged (new) tokens of one language it prints the median row norm, the median cosine
to the nearest other new row (2,000 sampled rows against all), and the share of rows with a near-twin (cos > 0.999).

    /work/pyvenv/bin/python bench/quality/py/row_distinctness.py bench/quality/.cache/full/seed-42/compare/ru/models
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

models = Path(sys.argv[1])
rows = [json.loads(line) for line in open(models / "sembridge-alpha4" / "sembridge" / "mapping.jsonl", encoding="utf-8")]
new = torch.tensor([r["id"] for r in rows if r["match"] == "bridged"])
print(f"{len(new)} bridged tokens")
sub = torch.randperm(len(new), generator=torch.Generator().manual_seed(0))[:2000]
for m in sorted(p.name for p in models.iterdir() if (p / "model.safetensors").exists()):
    sd = load_file(str(models / m / "model.safetensors"))
    X = sd[next(k for k in sd if "word_embeddings" in k)].float()[new]
    n = X.norm(dim=1)
    Xn = X / n.clamp_min(1e-9)[:, None]
    S = Xn[sub] @ Xn.T
    S[torch.arange(len(sub)), sub] = -2
    mx = S.max(1).values
    print(f"{m:24s} norm median {n.median():.3f}  nearest other new row cos median {mx.median():.3f}  share with a twin (cos > 0.999) {(mx > 0.999).float().mean():.3f}")
