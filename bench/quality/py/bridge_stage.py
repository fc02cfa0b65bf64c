"""Stage `bridge`: a small multilingual dense bridge in sentence-transformers layout (BERT encoder, mean pooling,
Normalize), trained from random weights with a symmetric in-batch contrastive loss on en <-> lang pairs:
CLDR emoji names/keywords and language/script/territory names, and XQuAD-R train-article parallel questions and
sentences. Its WordPiece vocabulary is trained on the same text plus every token string of the source and
target vocabularies (so every token SemBridge embeds is covered, no [UNK] for a whole token).

After training it reports cross-lingual retrieval accuracy (P@1, en -> lang and lang -> en) on the test-article
pairs (eval/parallel-<lang>.jsonl, questions and sentences); that number is reported, never used for a choice.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

from common import EN_TOKENIZER, TARGET_LANGS, atomic_dir, check_train_record, load_test_articles, read_jsonl, seed_everything, write_json


def parallel_pairs(cache: Path, langs: list[str]) -> list[tuple[str, str]]:
    test = load_test_articles()
    pairs = []
    for lang in langs:
        for r in read_jsonl(cache / "data" / "train" / f"parallel-{lang}.jsonl"):
            check_train_record(r, test, f"train/parallel-{lang}.jsonl")
            if r["kind"] in ("question", "sentence"):
                pairs.append((r["en"], r["text"]))
        p = cache / "ext" / f"parallel-{lang}.jsonl"
        if p.exists():
            pairs += [(r["en"], r["text"]) for r in read_jsonl(p)]
    return pairs


def token_strings(vocab: Path) -> list[str]:
    out = []
    for line in open(vocab, encoding="utf-8"):
        t = line.rstrip("\n")
        if t and not (t.startswith("[") and t.endswith("]")):
            out.append(t[2:] if t.startswith("##") else t)
    return out


def train_vocab(lines: list[str], vocab_size: int, out: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    # lower-case, accents kept (stripping deletes Devanagari vowel signs)
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    alphabet = sorted({c for l in lines for c in l.lower() if not c.isspace()})
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        initial_alphabet=alphabet, limit_alphabet=len(alphabet) + 5, continuing_subword_prefix="##")
    tok.train_from_iterator(lines, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.save(str(out / "tokenizer.json"))
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (out / "vocab.txt").write_text("".join(t + "\n" for t, _ in vocab), encoding="utf-8")
    specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    write_json(out / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "strip_accents": False, "tokenize_chinese_chars": True, "model_max_length": 512, **specials})
    write_json(out / "special_tokens_map.json", specials)
    return len(vocab)


def cross_lingual_accuracy(model, cache: Path, langs: list[str]) -> dict:
    import torch

    res = {}
    for lang in langs:
        rows = [r for r in read_jsonl(cache / "data" / "eval" / f"parallel-{lang}.jsonl") if r["kind"] in ("question", "sentence")]
        if not rows:
            continue
        e = model.encode([r["en"] for r in rows], convert_to_tensor=True, batch_size=64)
        t = model.encode([r["text"] for r in rows], convert_to_tensor=True, batch_size=64)
        sim = e @ t.T
        gold = torch.arange(len(rows))
        res[lang] = {"pairs": len(rows), "P@1 en->lang": round((sim.argmax(1) == gold).float().mean().item(), 4),
                     "P@1 lang->en": round((sim.argmax(0) == gold).float().mean().item(), 4)}
    return res


def run(cache: Path, out: Path, seed: int, threads: int, steps: int, batch: int, lr: float, layers: int, hidden: int, vocab_size: int,
        max_seq_length: int, langs: list[str] | None = None) -> dict:
    import shutil

    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesSymmetricRankingLoss
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    from transformers import BertConfig, BertModel

    langs = langs or TARGET_LANGS
    seed_everything(seed, threads)
    pairs = parallel_pairs(cache, langs)
    random.Random(seed).shuffle(pairs)
    vocab_lines = [a for a, _ in pairs] + [b for _, b in pairs] + token_strings(EN_TOKENIZER / "vocab.txt")
    for lang in langs:
        vocab_lines += token_strings(cache / "tokenizers" / lang / "vocab.txt")
    t0 = time.time()
    with atomic_dir(out) as tmp:
        hf = tmp / "_hf"
        hf.mkdir()
        v = train_vocab(vocab_lines, vocab_size, hf)
        cfg = BertConfig(vocab_size=v, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64), intermediate_size=4 * hidden,
                         max_position_embeddings=512, type_vocab_size=2, add_pooling_layer=False)
        BertModel(cfg, add_pooling_layer=False).save_pretrained(str(hf))
        tr = Transformer(str(hf), max_seq_length=max_seq_length)
        model = SentenceTransformer(modules=[tr, Pooling(tr.get_embedding_dimension(), pooling_mode="mean"), Normalize()])
        before = cross_lingual_accuracy(model, cache, langs)
        ds = Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [b for _, b in pairs]})
        args = SentenceTransformerTrainingArguments(
            output_dir=str(tmp / "_trainer"), max_steps=steps, per_device_train_batch_size=batch, learning_rate=lr, warmup_steps=max(1, steps // 10),
            seed=seed, data_seed=seed, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, dataloader_num_workers=0,
            batch_sampler=BatchSamplers.NO_DUPLICATES, disable_tqdm=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=MultipleNegativesSymmetricRankingLoss(model, scale=20.0))
        trainer.train()
        log = [{"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h]
        after = cross_lingual_accuracy(model, cache, langs)
        shutil.rmtree(tmp / "_trainer", ignore_errors=True)
        model.save(str(tmp))
        # model.save re-serialises the tokenizer; keep the files written above (tokenizer_class BertTokenizer)
        for f in ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(hf / f, tmp / f)
        shutil.rmtree(hf)
        report = {"stage": "bridge", "seed": seed, "steps": steps, "batch": batch, "lr": lr, "vocab": v, "pairs": len(pairs),
                  "seconds": round(time.time() - t0, 1), "test_accuracy_before": before, "test_accuracy_after": after, "log": log}
        write_json(tmp / "training-log.json", report)
    return {k: report[k] for k in ["steps", "vocab", "pairs", "seconds", "test_accuracy_before", "test_accuracy_after"]}


if __name__ == "__main__":
    import sys

    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]), 42, 1, int(sys.argv[3]), 16, 1e-3, 2, 128, 8000, 64), indent=1))
