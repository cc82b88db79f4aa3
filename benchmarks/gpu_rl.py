"""The RL run of issue 23 (part 2): GRPO with the verifier's reward against expert iteration and
imitation at equal samples, two seeds, every round evaluated on a fixed 100-instance subset per set.

    python benchmarks/gpu_rl.py                 # on a CUDA machine: the issue's scale (100 updates x 64 samples a seed)
    python benchmarks/gpu_rl.py --tiny          # the same steps on the CPU at tiny scale (minutes)

Per seed, three arms share one evaluation store (the start adapter, the base model and the random
control are evaluated once):

- ``rl``: ``llm-modulo rl`` with ``benchmarks/configs/rl_gpu.toml`` (5 rounds x 20 updates x 64 samples);
- ``expert``: ``llm-modulo improve --start smollm2-135m-planner --data expert`` sampling best-of-n with
  n = group on updates_per_round x problems_per_update new problems a round (the same samples a round);
- ``imitation``: the same rounds trained on the imitation targets of those problems (no samples).

Every command resumes (rl with ``--resume``, improve by skipping finished steps), so the script can be
rerun after an interruption and loses at most one RL update. Writes ``<out>/results.md`` (the per-round
table of the three arms, each seed, with 95% intervals), ``<out>/rounds.png`` (solved against samples)
and copies them, with each run's rounds.md, log.json and reward.png, to ``$OUT`` when it is set.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomllib

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"gpu": REPO / "benchmarks/configs/rl_gpu.toml", "tiny": REPO / "benchmarks/configs/rl_tiny.toml"}


def sh(args: list[str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=REPO)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="CPU, tiny scale")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "gpu-rl")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--arms", default="rl,expert,imitation")
    args = ap.parse_args()
    scale = "tiny" if args.tiny else "gpu"
    out = args.out.resolve() / scale
    out.mkdir(parents=True, exist_ok=True)
    rl = tomllib.loads(CONFIGS[scale].read_text())["rl"]
    device = "cpu" if args.tiny else rl.get("device", "cuda")
    store = out / "eval.sqlite"
    cli = [sys.executable, "-m", "llm_modulo.cli"]
    threads = ["--threads", "1"] if args.tiny else []
    problems = rl["updates_per_round"] * rl["problems_per_update"]  # per round: RL's samples = problems x group
    runs: list[tuple[str, int, Path]] = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        arms = args.arms.split(",")
        if "rl" in arms:
            folder = out / f"rl-seed{seed}"
            config = out / f"rl-seed{seed}.toml"
            settings = {**rl, "seed": seed, "store": str(store), "device": device}
            config.write_text("[rl]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()))
            sh([*cli, "rl", "--config", str(config), "--out", str(folder), *threads, "-v",
                *(["--resume"] if (folder / "rl.json").is_file() else [])])  # fmt: skip
            runs.append(("grpo", seed, folder))
        for data in [a for a in arms if a in ("expert", "imitation")]:
            folder = out / f"{data}-seed{seed}"
            sh([*cli, "improve", "blocksworld", "--out", str(folder), "--start", rl["start"], "--data", data,
                "--rounds", str(rl["rounds"]), "--problems", str(problems), "--min-blocks", str(rl["min_blocks"]),
                "--max-blocks", str(rl["max_blocks"]), "--sample-strategy", "best-of-n", "--sample-n", str(rl["group"]),
                "--eval-count", str(rl["eval_count"]), "--eval-strategies", ",".join(rl["eval_strategies"]),
                "--seed", str(seed), "--store", str(store), "--device", device, *threads,
                *([] if rl.get("eval_random", True) else ["--no-random"]), "-v"])  # fmt: skip
            runs.append((data, seed, folder))
    samples = rl["updates_per_round"] * rl["problems_per_update"] * rl["group"]
    table = results(runs, samples)
    (out / "results.md").write_text(table)
    print(table)
    plot(runs, samples, out / "rounds.png")
    if os.environ.get("OUT"):
        dest = Path(os.environ["OUT"])
        for path in [out / "results.md", out / "rounds.png"]:
            if path.is_file():
                shutil.copy(path, dest / path.name)
        for _, _, folder in runs:
            for name in ("rounds.md", "rounds.csv", "log.json", "reward.png"):
                if (folder / name).is_file():
                    shutil.copy(folder / name, dest / f"{folder.name}-{name}")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def rows(folder: Path) -> list[dict[str, str]]:
    path = folder / "rounds.csv"
    return list(csv.DictReader(path.open())) if path.is_file() else []


def results(runs: list[tuple[str, int, Path]], samples: int) -> str:
    """One line per (set, strategy, round, arm, seed): solved / trials with a Wilson 95% interval."""
    from llm_modulo.experiments.stats import wilson_interval

    lines = [f"Samples per round: {samples} for grpo and expert (none for imitation; the same problems).", "",
             "| set | strategy | round | samples | arm | seed | solved | 95% CI |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    found = []
    for arm, seed, folder in runs:
        for row in rows(folder):
            r = int(row["round"])
            name = "random control" if r < 0 else ("start / base" if r == 0 else arm)
            found.append(
                (
                    row["instance_set"],
                    row["strategy"],
                    r,
                    name,
                    seed,
                    int(row["solved"]),
                    int(row["trials"]),
                    row["model"],
                )
            )
    seen = set()
    for iset, strategy, r, name, seed, solved, trials, model in sorted(found):
        key = (iset, strategy, r, model if r <= 0 else (name, seed))
        if key in seen:  # round 0 and the control are shared by every arm
            continue
        seen.add(key)
        lo, hi = wilson_interval(solved, trials)
        label = name if r > 0 else f"{name} ({Path(model).name})"
        lines.append(f"| {iset} | {strategy} | {r} | {max(r, 0) * samples} | {label} | {seed if r > 0 else '-'} | "
                     f"{solved}/{trials} | {100 * lo:.0f}-{100 * hi:.0f}% |")  # fmt: skip
    return "\n".join(lines) + "\n"


def plot(runs: list[tuple[str, int, Path]], samples: int, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    series: dict[tuple[str, str, str, int], dict[int, float]] = {}
    for arm, seed, folder in runs:
        for row in rows(folder):
            r = int(row["round"])
            if r >= 1 or (r == 0 and Path(row["model"]).name != "default"):
                key = (row["instance_set"], row["strategy"], arm, seed)
                series.setdefault(key, {})[r] = int(row["solved"]) / max(1, int(row["trials"]))
    panels = sorted({(s, st) for s, st, _, _ in series})
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.5), squeeze=False)
    for ax, (iset, strategy) in zip(axes[0], panels, strict=True):
        for (s, st, arm, seed), points in sorted(series.items()):
            if (s, st) == (iset, strategy):
                xs = sorted(points)
                ax.plot([x * samples for x in xs], [points[x] for x in xs], marker=".", label=f"{arm} s{seed}")
        ax.set_title(f"{iset.split('/')[-1]}\n{strategy}", fontsize=8)
        ax.set_xlabel("samples")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("solved")
    axes[0][-1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
