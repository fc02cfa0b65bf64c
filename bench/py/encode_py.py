"""Comparison side of bench/encode.bench.ts: SPLADE encoding of the same documents in Python,
(a) onnxruntime on the same ONNX file with numpy pooling, (b) sentence-transformers SparseEncoder (torch).
usage: python encode_py.py MODEL_DIR DOCS_JSON BATCH_SIZE THREADS MAX_LENGTH
prints one JSON line: {n, ort_seconds, torch_seconds|null, head: first vector's top 5 (id, weight)}"""
import json, os, sys, time

model_dir, docs_path, batch_size, threads, max_length = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import numpy as np
import onnxruntime as ort
from transformers import AutoTokenizer

docs = json.load(open(docs_path, encoding="utf-8"))
tok = AutoTokenizer.from_pretrained(model_dir)
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
sess = ort.InferenceSession(os.path.join(model_dir, "onnx", "model.onnx"), so, providers=["CPUExecutionProvider"])
names = [i.name for i in sess.get_inputs()]


def ort_encode(texts):
    out = []
    for s in range(0, len(texts), batch_size):
        enc = tok(texts[s:s + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="np")
        feeds = {n: enc[n].astype(np.int64) if n in enc else np.zeros_like(enc["input_ids"]) for n in names}
        logits = sess.run(None, feeds)[0]
        logits = np.where(enc["attention_mask"][:, :, None] > 0, logits, 0.0)
        out.append(np.log1p(np.maximum(logits, 0)).max(axis=1))
    return np.concatenate(out)


ort_encode(docs[:batch_size])
t0 = time.perf_counter()
vecs = ort_encode(docs)
ort_seconds = time.perf_counter() - t0
top = np.argsort(-vecs[0])[:5]

torch_seconds = None
if os.path.exists(os.path.join(model_dir, "modules.json")):
    import torch
    torch.set_num_threads(threads)
    from sentence_transformers import SparseEncoder
    se = SparseEncoder(model_dir, device="cpu")
    se.max_seq_length = max_length
    se.encode(docs[:batch_size], batch_size=batch_size)
    t0 = time.perf_counter()
    se.encode(docs, batch_size=batch_size)
    torch_seconds = time.perf_counter() - t0
print(json.dumps({"n": len(docs), "ort_seconds": ort_seconds, "torch_seconds": torch_seconds,
                  "head": [[int(i), float(vecs[0][i])] for i in top]}))
