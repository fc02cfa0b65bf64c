# Whole-process baseline for `sembridge reconstruct` (bench/reconstructProcess.bench.ts): what a numpy
# user writes for the heavy part of the same job — read the same input file, normalise the bridge rows,
# multiply the target by the source bridge vectors in blocks of rows. No entmax, no reconstruction:
# a lower bound on any implementation's work, so the ratio overstates our overhead, never hides it.
import json, sys, time

t0 = time.perf_counter()
import numpy as np
from safetensors.numpy import load_file

path, chunk = sys.argv[1], int(sys.argv[2])
x = load_file(path)
S = x["source_bridge"]
T = x["target_bridge"]
S = S / np.linalg.norm(S, axis=1, keepdims=True)
T = T / np.linalg.norm(T, axis=1, keepdims=True)
out = np.empty((chunk, S.shape[0]), dtype=np.float32)
checksum = 0.0
for s in range(0, T.shape[0], chunk):
    n = min(chunk, T.shape[0] - s)
    np.matmul(T[s : s + n], S.T, out=out[:n])
    checksum += float(out[:n, 0].sum())
print(json.dumps({"ms": (time.perf_counter() - t0) * 1000, "numpy": np.__version__, "checksum": checksum}))
