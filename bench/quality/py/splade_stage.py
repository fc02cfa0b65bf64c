"""Stage `splade`: the small English SPLADE. Starts from the `mlm` model and trains it with sentence-transformers'
SparseEncoderTrainer: SpladeLoss = SparseMultipleNegativesRankingLoss (in-batch negatives) + FLOPS regularisation
of queries and documents, on WordNet lemma -> gloss pairs and XQuAD-R en train-article questions -> their
sentences. No evaluation on test articles happens here (that is the `en-check` and `compare` stages' job), so no
training choice sees them.

Also used by the `finetune` stage (train_sparse with a target-language model and pairs).
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

from common import EN_TOKENIZER, atomic_dir, check_train_record, copy_tokenizer, load_test_articles, read_jsonl, seed_everything, write_json


def english_pairs(cache: Path, wordnet_pairs: int, qa_repeat: int, seed: int, exclude_articles=()) -> list[tuple[str, str]]:
    test = load_test_articles()
    pairs: list[tuple[str, str]] = []
    for r in read_jsonl(cache / "data" / "train" / "qa-en.jsonl"):
        check_train_record(r, test, "train/qa-en.jsonl")
        if r.get("article") in set(exclude_articles):
            continue
        for p in r["positives"][:1]:
            pairs += [(r["query"], p["text"])] * qa_repeat
    p = cache / "ext" / "en-pairs.jsonl"
    if p.exists() and wordnet_pairs > 0:
        wn = [(r["query"], r["positive"]) for r in read_jsonl(p) if r["positive"]]
        pairs += random.Random(seed).sample(wn, min(wordnet_pairs, len(wn)))
    return pairs


def train_sparse(model, pairs: list[tuple[str, str]], seed: int, steps: int, batch: int, lr: float, lambda_q: float, lambda_d: float,
                 work: Path, callbacks=None, epochs: int | None = None) -> list[dict]:
    """One SparseEncoderTrainer run (`steps` steps, or `epochs` epochs when given); returns the loss per step."""
    from datasets import Dataset
    from sentence_transformers.sparse_encoder import SparseEncoderTrainer, SparseEncoderTrainingArguments
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    ds = Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [b for _, b in pairs]})
    loss = SpladeLoss(model, loss=SparseMultipleNegativesRankingLoss(model), query_regularizer_weight=lambda_q, document_regularizer_weight=lambda_d)
    args = SparseEncoderTrainingArguments(
        output_dir=str(work), max_steps=-1 if epochs else steps, num_train_epochs=epochs or 1, per_device_train_batch_size=batch, learning_rate=lr, warmup_steps=max(1, (steps or epochs * -(-len(pairs) // batch)) // 10),
        seed=seed, data_seed=seed, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, dataloader_num_workers=0,
        batch_sampler=BatchSamplers.NO_DUPLICATES, disable_tqdm=True,
    )
    trainer = SparseEncoderTrainer(model=model, args=args, train_dataset=ds, loss=loss, callbacks=callbacks or [])
    trainer.train()
    return [{"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h]


def calibrate_bias(mlm, texts: list[str], active: float, max_seq_length: int) -> float:
    """Shifts the MLM head's output bias so that a position has about `active` positive logits on these texts.

    A softmax MLM head is free in the logits' offset, and the one trained here leaves thousands of them
    positive: SPLADE's log(1 + relu) then turns every text into a dense vector with dot products in the
    hundreds, and the contrastive loss starts far from anything useful (measured: loss 120, 3,700 active
    dimensions). After the shift, a position keeps only its top few tokens (its own, with the identity rows),
    so SPLADE starts as a sparse lexical matcher. Returns the shift (subtracted from the bias).
    """
    import torch

    tok, model = mlm.tokenizer, mlm.auto_model
    enc = tok(texts, truncation=True, max_length=max_seq_length, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits[enc["attention_mask"].bool()]  # (positions, vocab)
        kth = torch.topk(logits, int(round(active)) + 1, dim=1).values[:, -1]
        shift = float(kth.median())
        head = model.get_output_embeddings()
        head.bias.data -= shift
        if hasattr(model.cls.predictions, "bias") and model.cls.predictions.bias.data_ptr() != head.bias.data_ptr():
            model.cls.predictions.bias.data -= shift
    return shift


def run(cache: Path, mlm_dir: Path, out: Path, seed: int, threads: int, steps: int, batch: int, lr: float, lambda_q: float, lambda_d: float,
        wordnet_pairs: int, qa_repeat: int, max_seq_length: int, exclude_articles=(), active_init: float = 0) -> dict:
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    seed_everything(seed, threads)
    pairs = english_pairs(cache, wordnet_pairs, qa_repeat, seed, exclude_articles)
    mlm = MLMTransformer(str(mlm_dir), max_seq_length=max_seq_length)
    model = SparseEncoder(modules=[mlm, SpladePooling(pooling_strategy="max", embedding_dimension=mlm.auto_model.config.vocab_size)])
    shift = None
    if active_init > 0:
        sample = random.Random(seed).sample(pairs, min(64, len(pairs)))
        shift = calibrate_bias(mlm, [t for pr in sample for t in pr], active_init, max_seq_length)
        print(f"splade: output bias shifted by -{shift:.3f} for ~{active_init} active tokens per position", flush=True)
    t0 = time.time()
    with atomic_dir(out) as tmp:
        # steps 0: the calibrated MLM itself (the trainer would read max_steps 0 as "one epoch")
        log = train_sparse(model, pairs, seed, steps, batch, lr, lambda_q, lambda_d, tmp / "_trainer") if steps > 0 else []
        import shutil

        shutil.rmtree(tmp / "_trainer", ignore_errors=True)
        model.save(str(tmp))
        copy_tokenizer(EN_TOKENIZER, tmp)
        write_json(tmp / "training-log.json", {"stage": "splade", "seed": seed, "steps": steps, "batch": batch, "lr": lr, "lambda_q": lambda_q, "lambda_d": lambda_d,
                                               "pairs": len(pairs), "bias_shift": shift, "seconds": round(time.time() - t0, 1), "log": log})
    return {"steps": steps, "pairs": len(pairs), "bias_shift": shift, "final_loss": log[-1]["loss"] if log else None, "seconds_per_step": round((time.time() - t0) / max(1, steps), 3)}


if __name__ == "__main__":
    import sys

    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), 42, 1, int(sys.argv[4]), 8, 1e-4, 5e-4, 3e-4, 200, 1, 64)))
