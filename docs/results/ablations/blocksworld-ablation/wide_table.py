"""The wide evaluation's table (``eval-wide.yaml``): per source and training seed, solved on the
first 100 instances of each PlanBench Blocksworld set, with executable plans and the applicable prefix
(``improve.round_table`` over the sweep's trials).

    python docs/results/ablations/blocksworld-ablation/wide_table.py runs/abl/store.sqlite
"""

import sys
from pathlib import Path

from llm_modulo.experiments.config import load_sweep
from llm_modulo.experiments.stats import wilson_interval
from llm_modulo.training.improve import round_table

sweep = load_sweep(Path(__file__).with_name("eval-wide.yaml"))
keys = [t.key for t in sweep.trials]
adapters = [m for m in sweep.config.models if m not in ("default", "random")]
rows = round_table(sys.argv[1], {"default": 0, **{m: 1 for m in adapters}}, random="random", keys=keys)


def arm(model: str) -> str:
    if model in ("default", "random"):
        return "base" if model == "default" else "random control"
    return ("gpu " if "/gpu/" in model else "cpu ") + Path(model).parent.parent.name


cells = {(arm(r.model), r.instance_set): r for r in rows}
print(f"{len(keys)} trials in the sweep, {sum(r.trials for r in rows)} stored\n")
print("| arm | set | solved | 95% CI | executable plans | applicable prefix |")
print("|---|---|---|---|---|---|")
for (name, iset), r in sorted(cells.items()):
    lo, hi = wilson_interval(r.solved, r.trials)
    print(f"| {name} | {iset.split('/')[-1]} | {r.solved}/{r.trials} | {100 * lo:.0f}-{100 * hi:.0f}% | "
          f"{r.executable}/{r.trials} | {100 * (r.executable_prefix or 0.0):.0f}% |")
# pooled over the GPU seeds, per source
print("\n| source (GPU-trained, seeds 0-2) | set | solved, per seed | pooled | 95% CI (trials) | executable plans, pooled | applicable prefix, mean |")
print("|---|---|---|---|---|---|---|")
for source in ("imitation", "expert", "both"):
    for iset in sorted({k[1] for k in cells}):
        per = [cells[(f"gpu {source}-s{s}", iset)] for s in (0, 1, 2) if (f"gpu {source}-s{s}", iset) in cells]
        solved, trials = sum(r.solved for r in per), sum(r.trials for r in per)
        lo, hi = wilson_interval(solved, trials)
        prefix = sum((r.executable_prefix or 0.0) * r.trials for r in per) / trials if trials else 0.0
        print(f"| {source} | {iset.split('/')[-1]} | {' + '.join(str(r.solved) for r in per)} | {solved}/{trials} | "
              f"{100 * lo:.0f}-{100 * hi:.0f}% | {sum(r.executable or 0 for r in per)}/{trials} | {100 * prefix:.0f}% |")
