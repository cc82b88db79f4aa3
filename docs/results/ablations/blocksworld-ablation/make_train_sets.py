"""Step 2 of the three-seed ablation: each arm's training set, exactly as ``improve`` makes it.

For every source (imitation, both, expert) and training seed (0, 1, 2): the run folder
``runs/abl/gpu/<source>-s<seed>`` gets the expert samples (the base model's certified plans, from
step 1's run) and ``round-1/train.jsonl``: ``improve.round_data`` at ``--train-tokens 16000``, whose
random subset follows ``--train-seed``. A copy goes to ``.dev/c/`` for the GPU (``gpu_train.py``).

    python docs/results/ablations/blocksworld-ablation/make_train_sets.py     # from the repository root
"""

import shutil
from pathlib import Path

from llm_modulo.training import improve, targets
from llm_modulo.training.improve import ImproveConfig, base_tokenizer

root = Path("runs/abl")
ship = Path(".dev/c")
ship.mkdir(parents=True, exist_ok=True)
tokenizer = base_tokenizer("default")
common = dict(domain="blocksworld", rounds=1, problems=300, min_blocks=3, max_blocks=6, sample_strategy="search",
              sample_heuristic="relaxed-plan", train_tokens=16000, eval_count=25, eval_strategies=["direct"], epochs=2.0,
              batch_size=8, lr=1e-3, max_len=512, threads=2, batch_trials=16, store=str((root / "store.sqlite").resolve()))
for data in ("imitation", "both", "expert"):
    for seed in (0, 1, 2):
        cfg = ImproveConfig(**common, data=data, train_seed=seed)
        out = root / "gpu" / f"{data}-s{seed}"
        (out / "round-1").mkdir(parents=True, exist_ok=True)
        if data != "imitation":
            shutil.copy(root / "expert-s0" / "round-1" / "expert.jsonl", out / "round-1" / "expert.jsonl")
        records = improve.round_data(cfg, out, 1, tokenizer)
        targets.write_jsonl(records, out / "round-1" / "train.jsonl")
        shutil.copy(out / "round-1" / "train.jsonl", ship / f"train-{data}-s{seed}.jsonl")
        print(data, seed, len(records), "records")
