"""Comparison side of bench/bridge.bench.ts: the same bridge model run by sentence-transformers.
usage: python bridge_st.py MODEL_DIR STRINGS_JSON BATCH_SIZE THREADS
prints one JSON line: {n, seconds, dim, head: first 8 vectors}"""
import json, sys, time

model_dir, strings_path, batch_size, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import torch
torch.set_num_threads(threads)
from sentence_transformers import SentenceTransformer

strings = json.load(open(strings_path, encoding="utf-8"))
model = SentenceTransformer(model_dir, device="cpu")
model.encode(strings[:batch_size], batch_size=batch_size)  # warm-up
t0 = time.perf_counter()
emb = model.encode(strings, batch_size=batch_size, convert_to_numpy=True)
seconds = time.perf_counter() - t0
print(json.dumps({"n": len(strings), "seconds": seconds, "dim": int(emb.shape[1]), "head": emb[:8].tolist()}))
