"""Stage `plot`: the fine-tuning curves (training loss per step, test nDCG@10 per epoch), one PNG per language."""
from __future__ import annotations

import json
from pathlib import Path


def run(finetune_dirs: list[Path], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: dict[str, dict[str, list[dict]]] = {}
    for d in finetune_dirs:  # one folder per seed
        for f in sorted(d.glob("*.json")):
            r = json.loads(f.read_text())
            runs.setdefault(r["lang"], {}).setdefault(r["init"], []).append(r)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang, inits in sorted(runs.items()):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        for init, rs in sorted(inits.items()):
            steps = [p["step"] for p in rs[0]["loss_per_step"]]
            n = min(len(r["loss_per_step"]) for r in rs)
            loss = [sum(r["loss_per_step"][i]["loss"] for r in rs) / len(rs) for i in range(n)]
            ax1.plot(steps[:n], loss, label=init, linewidth=1)
            m = min(len(r["ndcg_per_epoch"]) for r in rs)
            nd = [sum(r["ndcg_per_epoch"][i] for r in rs) / len(rs) for i in range(m)]
            ax2.plot(range(m), nd, marker="o", label=init)
        seeds = sorted({r["seed"] for rs in inits.values() for r in rs})
        ax1.set(title=f"{lang}: training loss (mean of seeds {seeds})", xlabel="step", ylabel="SpladeLoss")
        ax2.set(title=f"{lang}: nDCG@10 on test articles", xlabel="epoch (0 = zero-shot)", ylabel="nDCG@10")
        ax1.legend(fontsize=7)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        p = out / f"finetune-{lang}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(str(p))
    return written
