"""Stage `mlm`: masked-LM pre-training of a small English BERT (default 4 layers, hidden 256) with the real
bert-base-uncased vocabulary, on English text no test article reaches: XQuAD-R en train-article paragraphs
and questions, WordNet glosses and examples, GCIDE definitions.

The MLM head runs on the masked positions (15% of tokens) plus, with `identity` > 0, that share of the
unmasked positions, whose target is the input token itself. The identity rows are what makes the later
SPLADE start as a lexical matcher: SPLADE reads the MLM logits of every position, and a head that only ever
predicted masked tokens gives unmasked positions near-arbitrary logits (the first full run, without them,
stayed at chance on English). Rows are sampled rather than all taken because the 30,522-wide output is most
of the cost of a small model.
"""
from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

from common import EN_TOKENIZER, atomic_dir, copy_tokenizer, check_train_record, load_test_articles, read_jsonl, seed_everything, write_json


def english_text(cache: Path, exclude_articles=()) -> list[str]:
    test = load_test_articles()
    rows = read_jsonl(cache / "data" / "train" / "text-en.jsonl")
    for r in rows:
        check_train_record(r, test, "train/text-en.jsonl")
    rows = [r for r in rows if r.get("article") not in set(exclude_articles)]
    lines = [r["text"] for r in rows]
    p = cache / "ext" / "en-text.jsonl"
    if p.exists():
        lines += [r["text"] for r in read_jsonl(p)]
    return lines


def run(cache: Path, out: Path, seed: int, threads: int, steps: int, batch: int, seq_len: int, layers: int, hidden: int, lr: float,
        identity: float = 0.0, exclude_articles=()) -> dict:
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    seed_everything(seed, threads)
    tok = BertTokenizerFast.from_pretrained(str(EN_TOKENIZER))
    lines = english_text(cache, exclude_articles)
    rng = random.Random(seed)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64),
                     intermediate_size=4 * hidden, max_position_embeddings=512, type_vocab_size=2, tie_word_embeddings=True)
    model = BertForMaskedLM(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))  # linear warm-up, linear decay
    special = torch.tensor([tok.cls_token_id, tok.sep_token_id, tok.pad_token_id])
    log = []
    t0 = time.time()
    for step in range(steps):
        enc = tok(rng.sample(lines, batch), truncation=True, max_length=seq_len, padding=True, return_tensors="pt")
        ids = enc["input_ids"].clone()
        prob = torch.full(ids.shape, 0.15)
        prob[torch.isin(ids, special)] = 0
        masked = torch.bernoulli(prob).bool()
        if not masked.any():
            continue
        # identity rows: a share of the unmasked real tokens, predicting themselves
        rows = masked | (torch.bernoulli(torch.full(ids.shape, identity)).bool() & ~masked & (enc["attention_mask"] == 1) & ~torch.isin(ids, special))
        labels = ids[rows]
        r = torch.rand(ids.shape)
        ids[masked & (r < 0.8)] = tok.mask_token_id
        rand_tok = masked & (r >= 0.8) & (r < 0.9)
        ids[rand_tok] = torch.randint(tok.vocab_size, (int(rand_tok.sum()),))
        hidden_states = model.bert(input_ids=ids, attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"]).last_hidden_state
        logits = model.cls(hidden_states[rows])
        per_row = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
        loss = per_row.mean()
        is_masked = masked[rows]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        log.append({"step": step + 1, "loss": round(loss.item(), 4), "masked_loss": round(per_row[is_masked].mean().item(), 4),
                    "identity_loss": round(per_row[~is_masked].mean().item(), 4) if (~is_masked).any() else None})
        if (step + 1) % max(1, steps // 20) == 0:
            print(f"mlm step {step + 1}/{steps} loss {loss.item():.3f} masked {log[-1]['masked_loss']} identity {log[-1]['identity_loss']} ({(time.time() - t0) / (step + 1):.2f} s/step)", flush=True)
    seconds = time.time() - t0
    with atomic_dir(out) as tmp:
        model.save_pretrained(str(tmp))
        copy_tokenizer(EN_TOKENIZER, tmp)  # the real files, not transformers' re-serialisation
        write_json(tmp / "training-log.json", {"stage": "mlm", "seed": seed, "steps": steps, "batch": batch, "seq_len": seq_len, "lines": len(lines),
                                               "seconds": round(seconds, 1), "log": log})
    return {"steps": steps, "lines": len(lines), "identity": identity, "final_loss": log[-1]["loss"] if log else None,
            "final_masked_loss": log[-1]["masked_loss"] if log else None, "final_identity_loss": log[-1]["identity_loss"] if log else None, "seconds_per_step": round(seconds / max(1, steps), 3),
            "ppl_last": round(math.exp(min(20, sum(x["loss"] for x in log[-10:]) / max(1, len(log[-10:])))), 1) if log else None}


if __name__ == "__main__":
    import sys

    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]), 42, 1, int(sys.argv[3]), 8, 64, 4, 256, 5e-4)))
