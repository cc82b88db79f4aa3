"""The wide evaluation's table (``eval-wide.yaml``): per source and training seed, solved on the
first 100 instances of each PlanBench Blocksworld set, with executable plans and the applicable prefix.

    python examples/improve/blocksworld-ablation/wide_table.py runs/abl/store.sqlite
"""

import sys
from collections import defaultdict
from pathlib import Path

from llm_modulo.experiments.config import load_sweep
from llm_modulo.experiments.stats import wilson_interval
from llm_modulo.experiments.store import TrialStore
from llm_modulo.training.improve import plan_progress

sweep = load_sweep(Path(__file__).with_name("eval-wide.yaml"))
keys = [t.key for t in sweep.trials]
cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
with TrialStore(sys.argv[1], readonly=True) as db:
    for row in db.rows(keys=keys):
        model = row["model"]
        arm = "base" if model == "default" else "random control" if model == "random" else (
            ("gpu " if "/gpu/" in model else "cpu ") + Path(model).parent.parent.name)
        cells[(arm, row["instance_set"])].append(row)
print(f"{len(keys)} trials in the sweep, {sum(map(len, cells.values()))} stored\n")
print("| arm | set | solved | 95% CI | executable plans | applicable prefix |")
print("|---|---|---|---|---|---|")
for (arm, iset), rows in sorted(cells.items()):
    solved = sum(bool(r["verified"]) for r in rows)
    progress = [plan_progress(r.get("result_json")) for r in rows]
    lo, hi = wilson_interval(solved, len(rows))
    executable = sum(p[0] for p in progress if p)
    prefix = sum(p[1] for p in progress if p) / len(rows)
    print(f"| {arm} | {iset.split('/')[-1]} | {solved}/{len(rows)} | {100 * lo:.0f}-{100 * hi:.0f}% | {executable}/{len(rows)} | {100 * prefix:.0f}% |")
# pooled over the GPU seeds, per source
print("\n| source (GPU-trained, seeds 0-2) | set | solved, per seed | pooled | 95% CI (trials) | executable plans, pooled | applicable prefix, mean |")
print("|---|---|---|---|---|---|---|")
for source in ("imitation", "expert", "both"):
    for iset in sorted({k[1] for k in cells}):
        per = [cells.get((f"gpu {source}-s{s}", iset), []) for s in (0, 1, 2)]
        solved = [sum(bool(r["verified"]) for r in rows) for rows in per]
        trials = sum(len(rows) for rows in per)
        progress = [p for rows in per for p in map(plan_progress, (r.get("result_json") for r in rows)) if p]
        lo, hi = wilson_interval(sum(solved), trials)
        prefix = sum(p[1] for p in progress) / trials if trials else 0.0
        print(f"| {source} | {iset.split('/')[-1]} | {' + '.join(map(str, solved))} | {sum(solved)}/{trials} | "
              f"{100 * lo:.0f}-{100 * hi:.0f}% | {sum(p[0] for p in progress)}/{trials} | {100 * prefix:.0f}% |")
