"""``llm-modulo improve``: expert iteration, the outer loop that makes the verifier train the model.

Round 0 is the base model (and the random control), evaluated once, after round 1's training. Each
round ``r >= 1``:

1. **generates** fresh training problems (seed ``seed * 1000 + r``; test instances excluded by a
   renaming-invariant hash, see :mod:`llm_modulo.training.canon`) with certified imitation targets;
2. **samples** with critics: the previous round's model runs a sweep (``sample_strategy``) on them
   with the compact prompts it is trained on; the certified samples, re-certified, are the expert
   data (rejection-sampling fine-tuning: the critics' verdict is the reward);
3. **trains** a LoRA adapter from the base on the data of rounds ``1..r`` (``data``: expert,
   imitation or both; ``train_tokens`` caps the completion tokens so data sources compare at equal
   training tokens), resumable from checkpoints; with ``repair`` (planning), also on critique-and-repair
   turns made from the samples the critics rejected (:mod:`llm_modulo.training.repair`), so the model
   learns to use ``modulo``'s feedback;
4. **evaluates** the new model on the held-out sets (never trained on) with every evaluation
   strategy, into one store shared by all rounds (so round 0 is run once and any round reruns
   nothing it already has);
5. writes ``rounds.md`` / ``rounds.csv``: success per round, set and strategy, with LLM calls and
   generated tokens per solved instance.

With ``start`` (a trained adapter), the loop continues from that model instead: it is evaluated as
round 0 beside the base, round 1 samples it, and each round's adapter starts from the previous
round's weights and trains on that round's new data only (without ``start``, every round trains
afresh from the base on the data of all rounds so far).

Every step leaves its output in ``<out>/round-<r>/`` and is skipped when the output is there, so a
killed run resumes where it stopped; the settings are kept in ``<out>/improve.json`` and a rerun
with other settings is refused (a new ``--out`` is needed).

One module per idea: :mod:`.config` (the settings), :mod:`.sweeps` (the sweeps written and run),
:mod:`.loop` (the rounds), :mod:`.tables` (the per-round tables); every name is importable from here.
"""

from __future__ import annotations

from .config import EVAL_SETS, EVAL_STRATEGIES, SAMPLE_STRATEGIES, DataSource, ImproveConfig, SampleStrategy, data_label
from .loop import base_tokenizer, cap_tokens, data_dir, round_data, run_improve
from .sweeps import eval_sweep, sample_sweep, strategy_entries, write_sweep
from .tables import (
    RoundRow,
    compare_runs,
    load_rows,
    markdown_table,
    plan_progress,
    pooled_table,
    round_table,
    write_tables,
)

__all__ = [
    "EVAL_SETS",
    "EVAL_STRATEGIES",
    "SAMPLE_STRATEGIES",
    "DataSource",
    "ImproveConfig",
    "RoundRow",
    "SampleStrategy",
    "base_tokenizer",
    "cap_tokens",
    "compare_runs",
    "data_dir",
    "data_label",
    "eval_sweep",
    "load_rows",
    "markdown_table",
    "plan_progress",
    "pooled_table",
    "round_data",
    "round_table",
    "run_improve",
    "sample_sweep",
    "strategy_entries",
    "write_sweep",
    "write_tables",
]
