"""Shared helpers of the quality benchmark's Python stages: paths, seeding, JSONL, atomic folders."""
from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

HERE = Path(__file__).resolve().parent.parent  # bench/quality
REPO = HERE.parent.parent
SHARED_MODELS = Path(os.environ.get("SEMBRIDGE_SHARED_MODELS", REPO.parent.parent / "shared" / "models"))
if not SHARED_MODELS.exists():
    SHARED_MODELS = Path("/work/shared/models")
EN_TOKENIZER = SHARED_MODELS / "bert-base-uncased-tokenizer"
ZH_TOKENIZER = SHARED_MODELS / "bert-base-chinese-tokenizer"
TARGET_LANGS = ["ar", "hi", "ru", "zh"]


def seed_everything(seed: int, threads: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yields a temporary sibling folder, renamed onto `final` only when the block finishes."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_train_record(row: dict, test_articles: set[int], where: str) -> None:
    """Second line of defence (the TS data stage is the first): a training record from a test article stops the run."""
    a = row.get("article")
    if isinstance(a, int) and a in test_articles:
        raise SystemExit(f"error: {where}: record {row.get('id')} is from test article {a}")


def load_test_articles() -> set[int]:
    return set(json.loads((HERE / "splits.json").read_text())["test"])


def copy_tokenizer(src: Path, dst: Path) -> None:
    for f in src.iterdir():
        if f.is_file() and f.name != "README.md":
            shutil.copy(f, dst / f.name)
