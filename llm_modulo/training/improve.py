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
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llm_modulo.errors import InputError

from .targets import ExpertSelect

log = logging.getLogger(__name__)

DataSource = Literal["expert", "imitation", "both"]
SampleStrategy = Literal["best-of-n", "modulo", "search"]
SAMPLE_STRATEGIES: tuple[str, ...] = SampleStrategy.__args__
EVAL_STRATEGIES = ("direct", "best-of-n", "modulo", "search")
# Held-out sets (never trained on) per domain: (domain, set); all instances unless ``eval_count``.
EVAL_SETS: dict[str, list[tuple[str, str]]] = {
    "blocksworld": [
        ("blocksworld", "blocksworld/generated_basic_3"),
        ("blocksworld", "blocksworld/generated_basic"),
        ("mystery_blocksworld", "blocksworld/mystery/generated_basic_3"),
        ("mystery_blocksworld", "blocksworld/mystery/generated_basic"),
    ],
    "game24": [("game24", "test")],
}


class ImproveConfig(BaseModel):
    """The settings of an ``improve`` run (kept in ``<out>/improve.json``)."""

    model_config = ConfigDict(extra="forbid")

    domain: Literal["blocksworld", "game24"] = "blocksworld"
    rounds: int = Field(2, ge=1)
    base: str = "default"
    seed: int = 0
    train_seed: int | None = Field(
        None, description="seed of the token cap's random subset and of training (None: seed); runs that share a "
        "store, the seed and so the problems and samples, and differ here repeat one data source's training",
    )  # fmt: skip
    problems: int = Field(200, ge=1, description="new training problems per round")
    min_blocks: int = Field(3, ge=1)
    max_blocks: int = Field(8, ge=1)
    data: DataSource = "expert"
    expert_select: ExpertSelect = Field(
        "all", description="which certified samples become expert data: all, shortest (a problem's fewest-step answers) "
        "or shortened (planning: redundant steps removed under the validator, then the shortest)",
    )  # fmt: skip
    repair: bool = Field(False, description="planning: also train on critique-and-repair turns from the rejected samples")
    start: str | None = Field(None, description="a trained adapter to continue from (round 0 beside the base)")
    sample_strategy: SampleStrategy = "search"
    sample_n: int = Field(8, ge=1, description="samples per call (best-of-n, modulo) or per node (search)")
    sample_nodes: int = Field(64, ge=1, description="search: expansions per problem")
    sample_heuristic: str = Field("none", description="search: 'none' = the model's own best-first search")
    max_tokens: int = Field(128, ge=1)
    eval_count: int | None = Field(None, ge=1, description="instances per held-out set (None: all)")
    eval_strategies: list[str] = Field(default_factory=lambda: list(EVAL_STRATEGIES))
    eval_random: bool = True
    eval_nodes: int = Field(64, ge=1)
    eval_heuristic: str | None = Field(
        None, description="search at evaluation: none (the model's own best-first search), goal-count or relaxed-plan; "
        "None: search's default, relaxed-plan (for game24 that is exact, whether 24 is still reachable: a solver)",
    )  # fmt: skip
    epochs: float = Field(2.0, gt=0)
    lr: float = Field(2e-4, gt=0)
    rank: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    batch_size: int = Field(8, ge=1)
    max_len: int = Field(512, ge=16)
    max_steps: int | None = Field(None, ge=1)
    train_tokens: int | None = Field(None, ge=1, description="cap on completion tokens trained on per round")
    store: str | None = Field(
        None, description="one trial store for every sweep (None: <out>/eval.sqlite and round-<r>/sample.sqlite); "
        "runs that share one run the base model's evaluation and identical samples once",
    )  # fmt: skip
    device: str = "cpu"
    workers: int = Field(1, ge=1)
    threads: int | None = Field(None, ge=1)
    batch_trials: int | None = Field(None, ge=1, description="trials at once in the sweeps, their calls batched (bench --batch)")

    @property
    def training_seed(self) -> int:
        """The seed of the token cap and of training: ``train_seed``, else ``seed``."""
        return self.seed if self.train_seed is None else self.train_seed

    @field_validator("store")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else str(Path(value).resolve())

    @field_validator("sample_heuristic", "eval_heuristic")
    @classmethod
    def _heuristic(cls, value: str | None) -> str | None:
        from llm_modulo.strategies.search import HEURISTICS

        if value is not None and value not in HEURISTICS:
            raise ValueError(f"one of {', '.join(HEURISTICS)}, not {value!r}")
        return value

    @model_validator(mode="after")
    def _repair_needs_whole_answers(self) -> ImproveConfig:
        if self.repair and self.domain != "blocksworld":
            raise ValueError("repair turns are made for planning domains; drop repair for game24")
        if self.expert_select == "shortened" and self.domain != "blocksworld":
            raise ValueError("shortened removes plan steps: for planning domains; use shortest for game24")
        if self.repair and self.sample_strategy == "search":
            raise ValueError("repair turns are made from rejected whole plans: sample with best-of-n or modulo, not search")
        return self

    @field_validator("eval_strategies")
    @classmethod
    def _eval_strategies(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in EVAL_STRATEGIES]
        if unknown or not value:
            raise ValueError(f"a list of {', '.join(EVAL_STRATEGIES)}; got {', '.join(value) or 'nothing'}")
        return value


class RoundRow(BaseModel):
    """One line of the per-round table."""

    round: int
    model: str
    domain: str
    instance_set: str
    strategy: str
    trials: int
    solved: int
    llm_calls_per_instance: float
    llm_calls_per_solved: float | None
    generated_tokens_per_solved: float | None
    seconds_per_instance: float
    # partial credit where the critic is a plan validator (None elsewhere): trials with a sample whose
    # every step is applicable (the goal may still fail), and the mean over trials of the best
    # sample's applicable prefix as a share of its length
    executable: int | None = None
    executable_prefix: float | None = None

    @property
    def rate(self) -> float:
        return self.solved / self.trials if self.trials else 0.0


# -- sweeps written by the loop ----------------------------------------------------------------


def _strategy_entries(names: Sequence[str], n: int, nodes: int, heuristic: str | None = None,
                      max_tokens: int = 128) -> list[dict[str, Any]]:  # fmt: skip
    """Sweep ``strategies`` entries for ``names`` with the compact prompts; ``direct`` decodes greedily
    (the model alone at temperature 0, as PlanBench measured GPT-4), the others sample."""
    compact = {"prompt_format": "compact"}
    entries: list[dict[str, Any]] = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "domain_options": dict(compact)}
        if name == "direct":
            entry.update(constrained="well-formed", budgets=[{"samples": 1, "rounds": 1}],
                         sampling={"temperature": 0.0, "top_p": 1.0, "max_tokens": max_tokens})  # fmt: skip
        elif name == "best-of-n":
            entry.update(n=n, constrained="well-formed")
        elif name == "modulo":
            entry.update(n=max(1, n // 2), constrained="well-formed", reuse_prefix=True)
        elif name == "search":
            entry.update(n=n, budgets=[{"nodes": nodes, "samples": "none", "rounds": "none"}])
            if heuristic is not None:
                entry["heuristic"] = heuristic
        else:
            raise InputError(f"unknown strategy {name!r} for improve; known: {', '.join(EVAL_STRATEGIES)}")
        entries.append(entry)
    return entries


def sample_sweep(cfg: ImproveConfig, round_no: int, data: Path, model: str) -> dict[str, Any]:
    """The sweep that samples the current model with critics on the round's training problems."""
    if cfg.domain == "blocksworld":
        folder = (data / "problems").resolve()
        files = [p for p in folder.glob("*.pddl") if "domain" not in p.name.lower()]
        sets = [{"domain": "blocksworld", "set": str(folder), "count": len(files)}]
    else:
        puzzles = (data / "puzzles.txt").read_text().split("\n")
        sets = [{"domain": "game24", "set": "all", "ids": [p for p in puzzles if p.strip()]}]
    heuristic = cfg.sample_heuristic if cfg.sample_strategy == "search" else None
    return {
        "name": f"sample-{round_no}",
        "description": f"improve round {round_no}: sample {model} with critics on training problems",
        "models": [model],
        "feedback": ["first"],
        "seeds": [cfg.seed * 1000 + round_no],
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": cfg.max_tokens},
        "budgets": [{"samples": cfg.sample_n, "rounds": "none"}],
        "instance_sets": sets,
        "strategies": _strategy_entries([cfg.sample_strategy], cfg.sample_n, cfg.sample_nodes, heuristic),
    }


def eval_sweep(cfg: ImproveConfig, models: Sequence[str]) -> dict[str, Any]:
    """The held-out evaluation of ``models`` (every round's, the random control among them)."""
    sets: list[dict[str, Any]] = []
    for domain, name in EVAL_SETS[cfg.domain]:
        entry: dict[str, Any] = {"domain": domain, "set": name}
        if cfg.eval_count is not None:
            entry["count"] = cfg.eval_count
        sets.append(entry)
    return {
        "name": "eval",
        "description": "improve: every round's model on the held-out sets, compact prompts",
        "models": list(models),
        "feedback": ["first"],
        "seeds": [cfg.seed],
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": cfg.max_tokens},
        "budgets": [{"samples": 8, "rounds": "none"}],
        "instance_sets": sets,
        "strategies": _strategy_entries(cfg.eval_strategies, 8, cfg.eval_nodes, cfg.eval_heuristic, max_tokens=cfg.max_tokens),
    }


def write_sweep(config: dict[str, Any], path: Path) -> Path:
    """Write a sweep config as YAML (``rounds: none`` and friends spelled as bench expects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# -- the loop ----------------------------------------------------------------------------------


# Settings a rerun may change: more rounds; evaluation breadth (the store adds the new trials, every
# round's eval sweep is rerun so all rounds stay on the same instances); how the work is executed.
_RESUMABLE_CHANGES = {"rounds", "eval_count", "eval_strategies", "eval_random", "eval_heuristic", "device", "workers", "threads", "batch_trials"}


def _check_settings(cfg: ImproveConfig, out: Path) -> None:
    saved = out / "improve.json"
    current = cfg.model_dump(mode="json")
    if saved.is_file():
        before = {**ImproveConfig().model_dump(mode="json"), **json.loads(saved.read_text())}  # settings added later: defaults
        changed = {k for k in (set(before) | set(current)) - _RESUMABLE_CHANGES if before.get(k) != current.get(k)}
        if changed:
            raise InputError(
                f"{out} holds an improve run with other settings ({', '.join(sorted(changed))}); use another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(current, indent=1))


def _keys(sweep_files: Sequence[Path]) -> list[str]:
    """The trial keys of sweep files (what a shared store holds for this run)."""
    from llm_modulo.experiments.config import load_sweep

    return list(dict.fromkeys(t.key for f in sweep_files if f.is_file() for t in load_sweep(f).trials))


def _eval_files(out: Path) -> list[Path]:
    return sorted(out.glob("round-*/eval.yaml"))  # round-0 (base, control) and every trained round


def _run(sweep_file: Path, store: Path, cfg: ImproveConfig, progress: bool) -> None:
    from rich.console import Console

    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import run_sweep

    sweep = load_sweep(sweep_file)
    console = Console(stderr=True, quiet=not progress)
    outcome = run_sweep(sweep, store, workers=cfg.workers, threads=cfg.threads, batch=cfg.batch_trials, console=console,
                        progress=progress, command=f"llm-modulo improve ({sweep_file.name})")  # fmt: skip
    log.info("%s: %s", sweep_file.name, outcome)


def _dedupe(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (problem, prompt, answer): an expert answer that repeats the imitation plan is
    one example; a repair turn with that answer is another (its prompt differs)."""
    seen: set[tuple[str, str, str, str]] = set()
    kept = []
    for rec in records:
        key = (rec["problem_hash"], json.dumps(rec["prompt"], sort_keys=True), rec.get("prefill", ""), rec["completion"])
        if key not in seen:
            seen.add(key)
            kept.append(rec)
    return kept


def cap_tokens(records: list[dict[str, Any]], tokens: int | None, count: Callable[[dict[str, Any]], int], seed: int) -> list[dict[str, Any]]:
    """A seeded random subset whose completions hold at most ``tokens`` tokens (all when None)."""
    import random

    if tokens is None:
        return records
    order = list(records)
    random.Random(seed).shuffle(order)
    kept, total = [], 0
    for rec in order:
        n = count(rec)
        if total + n > tokens:
            continue
        kept.append(rec)
        total += n
    return kept


def data_dir(cfg: ImproveConfig, out: Path, round_no: int) -> Path:
    """Where round ``round_no``'s new problems and their imitation targets live.

    ``<out>/round-<r>/data``; with a shared ``store``, a folder beside it named by everything the
    data follows from, so runs that share the store share the problems (and so the samples' trial keys).
    """
    if cfg.store is None:
        return out / f"round-{round_no}" / "data"
    store = Path(cfg.store)
    blocks = f"-b{cfg.min_blocks}-{cfg.max_blocks}" if cfg.domain == "blocksworld" else ""
    return store.parent / f"{store.stem}-data" / f"{cfg.domain}-seed{cfg.seed}-round{round_no}-n{cfg.problems}{blocks}"


def round_data(cfg: ImproveConfig, out: Path, round_no: int, tokenizer: Any | None = None) -> list[dict[str, Any]]:
    """The training set of round ``round_no``: the chosen sources of rounds 1..round_no (of round
    ``round_no`` alone with ``start``: its training continues from the previous round's), deduplicated."""
    from . import targets

    records: list[dict[str, Any]] = []
    for r in range(round_no if cfg.start is not None else 1, round_no + 1):
        folder = out / f"round-{r}"
        if cfg.data in ("imitation", "both"):
            records += targets.read_jsonl(data_dir(cfg, out, r) / "train.jsonl")
        if cfg.data in ("expert", "both"):
            records += targets.read_jsonl(folder / "expert.jsonl")
        if cfg.repair:
            records += targets.read_jsonl(folder / "repair.jsonl")
    records = _dedupe(records)
    if cfg.train_tokens is not None:
        if tokenizer is None:
            raise InputError("train_tokens needs the tokenizer")
        from .chat import completion_ids

        records = cap_tokens(records, cfg.train_tokens,
                             lambda rec: len(completion_ids(tokenizer, rec["completion"], tokenizer.eos_token_id)),
                             cfg.training_seed * 1000 + round_no)  # fmt: skip
    return records


def run_improve(cfg: ImproveConfig, out: str | Path, progress: bool = True) -> list[RoundRow]:
    """Run (or resume) ``cfg.rounds`` rounds of expert iteration in ``out``; returns the table rows."""
    from . import commands, targets

    import os

    from llm_modulo.experiments.executors import DEVICE_ENV

    out = Path(out).resolve()
    _check_settings(cfg, out)
    if cfg.device != "cpu":
        os.environ[DEVICE_ENV] = cfg.device  # the sweeps' workers sample on it too
    shared = Path(cfg.store) if cfg.store else None  # absolute already (the config resolves it)
    eval_store = shared or out / "eval.sqlite"
    models = {0: cfg.start or cfg.base}

    for r in range(1, cfg.rounds + 1):
        folder = out / f"round-{r}"
        data = data_dir(cfg, out, r)
        if not (data / "data.json").is_file():
            log.info("round %d: generating %d problems", r, cfg.problems)
            commands.make_data(cfg.domain, data, count=cfg.problems, seed=cfg.seed * 1000 + r,
                               min_blocks=cfg.min_blocks, max_blocks=cfg.max_blocks)  # fmt: skip
        wanted = (["expert"] if cfg.data in ("expert", "both") else []) + (["repair"] if cfg.repair else [])
        missing = [name for name in wanted if not (folder / f"{name}.jsonl").is_file()]
        if missing:
            store = shared or folder / "sample.sqlite"
            sweep_file = write_sweep(sample_sweep(cfg, r, data, models[r - 1]), folder / "sample.yaml")
            _run(sweep_file, store, cfg, progress)
            roots, keys = [data / "problems"], _keys([sweep_file])
            if "expert" in missing:
                commands.make_expert_data(store, folder / "expert.part.jsonl", roots=roots, keys=keys, select=cfg.expert_select)
            if "repair" in missing:
                from .repair import make_repair_data

                make_repair_data(store, folder / "repair.part.jsonl", roots=roots, keys=keys)
            for name in missing:
                (folder / f"{name}.part.jsonl").replace(folder / f"{name}.jsonl")
        adapter = folder / "adapter"
        if not (adapter / "adapter_model.safetensors").is_file() or not (adapter / "train.json").is_file():
            tokenizer = _tokenizer(cfg.base) if cfg.train_tokens is not None else None
            records = round_data(cfg, out, r, tokenizer)
            if not records:
                raise InputError(
                    f"round {r}: no training data ({cfg.data}): the model certified nothing on {cfg.problems} problems; "
                    "try --data both, a larger --problems or another --sample-strategy"
                )
            targets.write_jsonl(records, folder / "train.jsonl")
            commands.train_adapter(folder / "train.jsonl", adapter, base=cfg.base, epochs=cfg.epochs, lr=cfg.lr,
                                   rank=cfg.rank, alpha=cfg.alpha, batch_size=cfg.batch_size, max_len=cfg.max_len,
                                   seed=cfg.training_seed, device=cfg.device, progress=progress, max_steps=cfg.max_steps,
                                   threads=cfg.threads, init_adapter=models[r - 1] if cfg.start is not None else None)  # fmt: skip
            (adapter / "train.json").write_text(json.dumps({"records": len(records), "round": r}))
        models[r] = str(adapter)
        _run(write_sweep(eval_sweep(cfg, [models[r]]), folder / "eval.yaml"), eval_store, cfg, progress)
        if r == 1:  # round 0, the base model and the random control, after round 1 (the trained model matters more)
            _run(write_sweep(eval_sweep(cfg, [*_round_zero(cfg), *(["random"] if cfg.eval_random else [])]),
                             out / "round-0" / "eval.yaml"), eval_store, cfg, progress)  # fmt: skip
    rows = round_table(eval_store, {**{m: 0 for m in _round_zero(cfg)}, **{m: r for r, m in models.items() if r}},
                       random="random" if cfg.eval_random else None, keys=_keys(_eval_files(out)))  # fmt: skip
    write_tables(rows, out, cfg)
    return rows


def _round_zero(cfg: ImproveConfig) -> list[str]:
    """The models of round 0: the base, and the adapter the loop starts from."""
    return [cfg.base, *([cfg.start] if cfg.start is not None else [])]


def _tokenizer(base: str) -> Any:
    from transformers import AutoTokenizer

    from .lora import base_folder

    return AutoTokenizer.from_pretrained(str(base_folder(base)))


# -- tables ------------------------------------------------------------------------------------


def round_table(store: str | Path, rounds: dict[str, int], random: str | None = "random",
                keys: Sequence[str] | None = None) -> list[RoundRow]:  # fmt: skip
    """Per (round, set, strategy): solved, LLM calls and generated tokens per solved instance.

    ``rounds`` maps a model spec (as the sweeps name it) to its round; the random control is
    reported as round ``-1``. ``keys``: only these trials (the run's own, in a shared store).
    """
    from llm_modulo.experiments.store import TrialStore

    def same(spec: str) -> str:  # a model folder however it was spelled
        return str(Path(spec).resolve()) if Path(spec).is_dir() else spec

    groups: dict[tuple[int, str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    resolved = {same(m): r for m, r in rounds.items()}
    with TrialStore(store, readonly=True) as db:
        for row in db.rows(sweep="eval", keys=keys):  # keys, when given, select alone
            model = row["model"]
            key = same(model)
            if key in resolved:
                r = resolved[key]
            elif random is not None and model == random:
                r = -1
            else:
                continue
            groups[(r, model, row["domain"], row["instance_set"], row["strategy"])].append(row)
    table = []
    for (r, model, domain, iset, strategy), rows in sorted(groups.items()):
        solved = [x for x in rows if x["verified"] or x["status"] == "no_solution"]
        n = len(rows)
        calls = sum(x["llm_calls"] or 0 for x in rows)
        progress = [p for p in (plan_progress(x.get("result_json")) for x in rows) if p is not None]
        graded = len(progress) == n and n > 0
        table.append(RoundRow(
            round=r, model=model, domain=domain, instance_set=iset, strategy=strategy, trials=n, solved=len(solved),
            llm_calls_per_instance=calls / n if n else 0.0,
            llm_calls_per_solved=(sum(x["llm_calls"] or 0 for x in solved) / len(solved)) if solved else None,
            generated_tokens_per_solved=(sum(x["generated_tokens"] or 0 for x in solved) / len(solved)) if solved else None,
            seconds_per_instance=sum(x["seconds"] or 0.0 for x in rows) / n if n else 0.0,
            executable=sum(e for e, _ in progress) if graded else None,
            executable_prefix=sum(f for _, f in progress) / n if graded else None,
        ))  # fmt: skip
    return table


def plan_progress(result_json: str | None) -> tuple[bool, float] | None:
    """(some sample's plan is executable throughout, best applicable-prefix share) from a trial's
    stored result; None when no critic reported plan prefixes (not a planning trial)."""
    if not result_json:
        return None
    found, executable, best = False, False, 0.0
    for entry in json.loads(result_json).get("trace") or []:
        for sample in entry.get("samples") or []:
            for stored in sample.get("verdicts") or []:
                progress = stored.get("progress") or {}
                info = stored.get("info") or {}  # stores written before Verdict.progress existed
                length = progress.get("length", info.get("plan_len"))
                prefix = progress.get("valid", info.get("valid_prefix_len"))
                if length is None or prefix is None:
                    continue
                found = True
                length, prefix = int(length), int(prefix)
                if length > 0:
                    executable = executable or prefix >= length
                    best = max(best, min(prefix, length) / length)
    return (executable, best) if found else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _graded(row: RoundRow) -> str:
    return "-" if row.executable is None else f"{row.executable}/{row.trials}"


def _share(row: RoundRow | None) -> str:
    return "-" if row is None or row.executable_prefix is None else f"{100 * row.executable_prefix:.0f}%"


def markdown_table(rows: Sequence[RoundRow]) -> str:
    """The per-round table, one block per held-out set."""
    from llm_modulo.experiments.stats import wilson_interval

    by_set: dict[str, list[RoundRow]] = defaultdict(list)
    order = {name: i for i, (_, name) in enumerate(s for sets in EVAL_SETS.values() for s in sets)}
    for row in sorted(rows, key=lambda x: order.get(x.instance_set, len(order))):
        by_set[row.instance_set].append(row)
    lines: list[str] = []
    for iset, group in by_set.items():
        lines += [f"### {iset}", "", "| round | model | strategy | solved | 95% CI | executable plans | "
                  "applicable prefix | LLM calls / instance | LLM calls / solved | generated tokens / solved | s / instance |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in sorted(group, key=lambda x: (x.strategy, x.round)):
            lo, hi = wilson_interval(row.solved, row.trials)
            name = "random control" if row.round < 0 else _model_name(row)
            lines.append(
                f"| {'-' if row.round < 0 else row.round} | {name} | {row.strategy} | {row.solved}/{row.trials} "
                f"({100 * row.rate:.0f}%) | {100 * lo:.0f}-{100 * hi:.0f}% | {_graded(row)} | "
                f"{_share(row)} | "
                f"{_fmt(row.llm_calls_per_instance)} | "
                f"{_fmt(row.llm_calls_per_solved)} | {_fmt(row.generated_tokens_per_solved, 0)} | {_fmt(row.seconds_per_instance)} |"
            )
        lines.append("")
    return "\n".join(lines)


def _model_name(row: RoundRow) -> str:
    """How the table names a round's model: base, the starting adapter's name, or round-<r>."""
    if row.round == 0:
        return Path(row.model).name if _names_adapter(row.model) else "base"
    return Path(row.model).parent.name


def _names_adapter(spec: str) -> bool:
    from .lora import resolve_adapter

    return resolve_adapter(spec) is not None


def write_tables(rows: Sequence[RoundRow], out: Path, cfg: ImproveConfig) -> None:
    head = [
        "# Expert iteration: every round on the held-out sets",
        "",
        f"Domain {cfg.domain}; base {cfg.base}; {f'continued from {cfg.start}; ' if cfg.start else ''}data {data_label(cfg)}"
        f"{' + repair turns' if cfg.repair else ''}; {cfg.problems} new problems a round; sampling "
        f"with {cfg.sample_strategy}; evaluation on {cfg.eval_count or 'all'} instances per set with compact "
        "prompts (zero-shot, the problem statement alone). A solved instance is one every hard critic "
        "certified; `direct` is the model alone (one greedy, syntax-constrained decode; the critic only scores); "
        "`best-of-n` and `modulo` sample 8 at temperature 1 (`modulo` 4 a call, with the critique of the first flaw)."
        + (" Partial credit from the plan validator: *executable plans*, trials with a sample whose every step applies "
           "(the goal may still fail); *applicable prefix*, the mean share of the best sample's steps that apply before "
           "the first flaw." if any(r.executable is not None for r in rows) else ""),
        "",
        "",
    ]
    (out / "rounds.md").write_text("\n".join(head) + markdown_table(rows))
    with (out / "rounds.csv").open("w", newline="") as fh:
        fields = list(RoundRow.model_fields)
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.model_dump())


def data_label(cfg: ImproveConfig) -> str:
    """The training data as the tables name it: the source, and which certified samples were kept
    when not all (runs that differ there are different arms, never seeds of one)."""
    if cfg.data != "imitation" and cfg.expert_select != "all":
        return f"{cfg.data} ({cfg.expert_select})"
    return cfg.data


def load_rows(out: str | Path) -> tuple[ImproveConfig, list[RoundRow]]:
    """The settings and table of an ``improve`` run folder, from its files alone."""
    out = Path(out)
    saved = out / "improve.json"
    if not saved.is_file():
        raise InputError(f"{out} is not an improve run (improve.json expected)")
    cfg = ImproveConfig.model_validate_json(saved.read_text())
    store = Path(cfg.store) if cfg.store else out / "eval.sqlite"
    if not store.is_file():
        raise InputError(f"{out}: its evaluation store {store} is missing")
    models = {m: 0 for m in _round_zero(cfg)}
    for folder in sorted(out.glob("round-*/adapter")):
        r = int(folder.parent.name.removeprefix("round-"))
        if (folder / "adapter_model.safetensors").is_file():
            models[str(folder)] = r
    return cfg, round_table(store, models, random="random" if cfg.eval_random else None, keys=_keys(_eval_files(out)))


def compare_runs(outs: Sequence[str | Path]) -> str:
    """One table over several ``improve`` runs (the data-source ablation: expert / imitation / both at
    equal training tokens): each run's latest round per set and strategy, beside the base and the random control."""
    from llm_modulo.experiments.stats import wilson_interval

    lines = ["| run | data | train tokens | set | strategy | base | random control | latest round | solved | 95% CI | "
             "executable plans (base / control / round) | applicable prefix (base / control / round) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    runs = [(out, *load_rows(out)) for out in outs]
    for out, cfg, rows in runs:
        latest = max((r.round for r in rows), default=0)
        by_key = {(r.round, r.instance_set, r.strategy): r for r in rows}
        for (r_no, iset, strategy), row in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            if r_no != latest:
                continue
            base = by_key.get((0, iset, strategy))
            rnd = by_key.get((-1, iset, strategy))
            lo, hi = wilson_interval(row.solved, row.trials)
            lines.append(
                f"| {Path(out).name} | {data_label(cfg)} | {cfg.train_tokens or 'all'} | {iset} | {strategy} | "
                f"{f'{base.solved}/{base.trials}' if base else '-'} | {f'{rnd.solved}/{rnd.trials}' if rnd else '-'} | "
                f"{latest} | {row.solved}/{row.trials} ({100 * row.rate:.0f}%) | {100 * lo:.0f}-{100 * hi:.0f}% | "
                f"{' / '.join(_graded(x) if x else '-' for x in (base, rnd, row))} | "
                f"{' / '.join(_share(x) for x in (base, rnd, row))} |"
            )
    pooled = pooled_table([(cfg, rows) for _, cfg, rows in runs])
    return "\n".join(lines) + "\n" + (f"\n{pooled}" if pooled else "")


def pooled_table(runs: Sequence[tuple[ImproveConfig, list[RoundRow]]]) -> str:
    """Runs (as :func:`load_rows` reads them) that repeat one data source with other training seeds
    (``train_seed``), pooled: per source,
    set and strategy, each seed's solved count and their sum. Empty when no source was repeated.

    The seeds are evaluated on the same instances, so the pooled interval is over trials, not
    independent instances: it shows the training-seed noise averaged, not a wider test set."""
    from llm_modulo.experiments.stats import wilson_interval

    groups: dict[tuple[Any, ...], list[tuple[int, list[RoundRow]]]] = defaultdict(list)
    for cfg, rows in runs:
        latest = max((r.round for r in rows), default=0)
        key = (data_label(cfg), cfg.train_tokens, cfg.repair, cfg.start, cfg.seed, latest)
        groups[key].append((cfg.training_seed, [r for r in rows if r.round == latest]))
    if all(len(seeds) < 2 for seeds in groups.values()):
        return ""
    lines = ["| data | train tokens | training seeds | set | strategy | solved per seed | pooled | 95% CI (trials) | "
             "executable plans, pooled | applicable prefix, mean |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (data, tokens, repair, _, _, _), seeds in groups.items():
        seeds = sorted(seeds, key=lambda run: run[0])
        cells: dict[tuple[str, str], list[RoundRow]] = defaultdict(list)
        for _, rows in seeds:
            for row in rows:
                cells[(row.instance_set, row.strategy)].append(row)
        for (iset, strategy), rows in sorted(cells.items()):
            solved, trials = sum(r.solved for r in rows), sum(r.trials for r in rows)
            lo, hi = wilson_interval(solved, trials)
            graded = all(r.executable is not None for r in rows)
            executable = f"{sum(r.executable or 0 for r in rows)}/{trials}" if graded else "-"
            prefix = f"{100 * sum(r.executable_prefix or 0.0 for r in rows) / len(rows):.0f}%" if graded else "-"
            lines.append(
                f"| {data}{' + repair' if repair else ''} | {tokens or 'all'} | {', '.join(str(s) for s, _ in seeds)} | {iset} | "
                f"{strategy} | {' + '.join(str(r.solved) for r in rows)} | {solved}/{trials} ({100 * solved / trials if trials else 0:.0f}%) | "
                f"{100 * lo:.0f}-{100 * hi:.0f}% | {executable} | {prefix} |"
            )
    return "\n".join(lines) + "\n"


__all__ = ["EVAL_SETS", "ImproveConfig", "RoundRow", "compare_runs", "data_label", "eval_sweep", "load_rows", "markdown_table", "plan_progress", "pooled_table",
           "round_table", "run_improve", "sample_sweep"]  # fmt: skip
