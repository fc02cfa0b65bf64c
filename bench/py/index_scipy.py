"""Comparison side of bench/index.bench.ts: exact top-k over the same sparse vectors as a Python user
writes it with scipy: CSR from the arrays, .tocsc(), then per query a column slice times the query
weights and argpartition.
usage: python index_scipy.py DOCS_DIR QUERIES_DIR VOCAB K
Each folder holds CSR arrays as raw little-endian files: indptr.i64 (n+1), indices.i32, data.f32.
prints one JSON line: {build_seconds, p50_ms, p99_ms, mean_ms, peak_rss_mb, top: [[ids...], ...], scores: [[...], ...]}"""
import json, resource, sys, time
import numpy as np
import scipy.sparse as sp


def read(folder):
    indptr = np.fromfile(f"{folder}/indptr.i64", dtype="<i8")
    indices = np.fromfile(f"{folder}/indices.i32", dtype="<i4")
    data = np.fromfile(f"{folder}/data.f32", dtype="<f4")
    return len(indptr) - 1, indptr, indices, data


docs_path, queries_path, vocab, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
n, indptr, indices, data = read(docs_path)
t0 = time.perf_counter()
X = sp.csr_matrix((data, indices, indptr), shape=(n, vocab)).tocsc()
build_seconds = time.perf_counter() - t0
del indptr, indices, data
nq, qptr, qidx, qdat = read(queries_path)


def top_k(ids, weights):
    scores = X[:, ids] @ weights
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top], kind="stable")], scores


for i in range(min(20, nq)):  # warm-up, as the TypeScript side does
    top_k(qidx[qptr[i]:qptr[i + 1]], qdat[qptr[i]:qptr[i + 1]])
times, tops, scores = [], [], []
for i in range(nq):
    ids, w = qidx[qptr[i]:qptr[i + 1]], qdat[qptr[i]:qptr[i + 1]]
    t = time.perf_counter()
    top, s = top_k(ids, w)
    times.append((time.perf_counter() - t) * 1000)
    tops.append(top.tolist())
    scores.append([float(x) for x in s[top]])
times.sort()


def peak_rss_mb():
    # VmHWM: getrusage's ru_maxrss would include the Node parent's resident pages at fork
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


print(json.dumps({
    "build_seconds": build_seconds,
    "p50_ms": times[min(nq - 1, nq // 2)],
    "p99_ms": times[min(nq - 1, int(nq * 0.99))],
    "mean_ms": sum(times) / nq,
    "peak_rss_mb": peak_rss_mb(),
    "top": tops,
    "scores": scores,
}))
