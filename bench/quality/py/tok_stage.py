"""Stage `tokenizers`: WordPiece vocabularies for ar, hi, ru, trained with the `tokenizers` library on
target-language text of the train articles only (data/train/text-<lang>.jsonl: XQuAD-R paragraphs and
questions) plus the CLDR strings of that language (ext/text-<lang>.jsonl). zh uses the real bert-base-chinese
vocabulary from ../shared/models. Cased, accents kept (stripping would delete Devanagari vowel signs), like the
paper's ARBERT / hindi-bert / rubert targets. Written as tokenizer.json + vocab.txt + tokenizer_config.json.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from common import ZH_TOKENIZER, atomic_dir, check_train_record, load_test_articles, read_jsonl, write_json

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def texts(data: Path, ext: Path, lang: str) -> list[str]:
    test = load_test_articles()
    rows = read_jsonl(data / "train" / f"text-{lang}.jsonl")
    for r in rows:
        check_train_record(r, test, f"train/text-{lang}.jsonl")
    out = [r["text"] for r in rows]
    p = ext / f"text-{lang}.jsonl"
    if p.exists():
        out += [r["text"] for r in read_jsonl(p)]
    return out


def train_one(lines: list[str], vocab_size: int, out: Path) -> dict:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS, continuing_subword_prefix="##")
    tok.train_from_iterator(lines, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.save(str(out / "tokenizer.json"))
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (out / "vocab.txt").write_text("".join(t + "\n" for t, _ in vocab), encoding="utf-8")
    # tokenizer_class BertTokenizer: the name transformers.js and SemBridge's loader know
    write_json(out / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "strip_accents": False, "tokenize_chinese_chars": True,
                                              "model_max_length": 512, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    write_json(out / "special_tokens_map.json", {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    return {"vocab": len(vocab), "sha256": hashlib.sha256((out / "vocab.txt").read_bytes()).hexdigest()[:16]}


def run(cache: Path, vocab_size: int) -> dict:
    data, ext, root = cache / "data", cache / "ext", cache / "tokenizers"
    report = {}
    for lang in ["ar", "hi", "ru"]:
        lines = texts(data, ext, lang)
        with atomic_dir(root / lang) as tmp:
            info = train_one(lines, vocab_size, tmp)
        info.update(lines=len(lines), chars=sum(len(l) for l in lines), requested=vocab_size)
        report[lang] = info
        print(f"tokenizer {lang}: {info['vocab']} tokens (asked {vocab_size}) from {info['lines']} lines, {info['chars']} characters")
    with atomic_dir(root / "zh") as tmp:
        for f in ZH_TOKENIZER.iterdir():
            if f.is_file() and f.name != "README.md":
                shutil.copy(f, tmp / f.name)
    report["zh"] = {"vocab": sum(1 for _ in open(root / "zh" / "vocab.txt", encoding="utf-8")), "source": str(ZH_TOKENIZER)}
    write_json(root / "report.json", report)
    return report


if __name__ == "__main__":
    import sys

    print(json.dumps(run(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 24000), indent=2))
