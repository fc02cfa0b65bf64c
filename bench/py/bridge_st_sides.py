"""Comparison side of bench/bridge.bench.ts --vocab: sentence-transformers' encode on each list of
strings (the source and the target vocabulary), as a Python user would embed them.
usage: python bridge_st_sides.py MODEL_DIR BATCH_SIZE THREADS OUT_DIR STRINGS_JSON...
writes OUT_DIR/<i>.f32 (float32 rows) and prints one JSON line: {seconds: [...], dim}"""
import json, os, sys, time

model_dir, batch_size, threads, out_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import numpy as np
import torch
torch.set_num_threads(threads)
from sentence_transformers import SentenceTransformer

lists = [json.load(open(p, encoding="utf-8")) for p in sys.argv[5:]]
model = SentenceTransformer(model_dir, device="cpu")
model.encode(lists[0][:batch_size], batch_size=batch_size)  # warm-up
seconds = []
dim = 0
for i, strings in enumerate(lists):
    t0 = time.perf_counter()
    emb = model.encode(strings, batch_size=batch_size, convert_to_numpy=True)
    seconds.append(time.perf_counter() - t0)
    dim = int(emb.shape[1])
    np.ascontiguousarray(emb, dtype=np.float32).tofile(os.path.join(out_dir, f"{i}.f32"))
print(json.dumps({"seconds": seconds, "dim": dim}))
