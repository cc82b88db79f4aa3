"""The per-round tables of ``improve`` runs: success per round, held-out set and strategy, with
LLM calls and generated tokens per solved instance; read back from a run's files, compared across
runs, pooled over training seeds."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llm_modulo.errors import InputError

from .config import EVAL_SETS, ImproveConfig, data_label, round_zero
from .sweeps import eval_files, sweep_keys


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
    from llm_modulo.models.adapters import resolve_adapter

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
        + (
            " Partial credit from the plan validator: *executable plans*, trials with a sample whose every step applies "
            "(the goal may still fail); *applicable prefix*, the mean share of the best sample's steps that apply before "
            "the first flaw."
            if any(r.executable is not None for r in rows)
            else ""
        ),
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
    models = {m: 0 for m in round_zero(cfg)}
    for folder in sorted(out.glob("round-*/adapter")):
        r = int(folder.parent.name.removeprefix("round-"))
        if (folder / "adapter_model.safetensors").is_file():
            models[str(folder)] = r
    return cfg, round_table(
        store, models, random="random" if cfg.eval_random else None, keys=sweep_keys(eval_files(out))
    )


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


__all__ = [
    "RoundRow",
    "compare_runs",
    "load_rows",
    "markdown_table",
    "plan_progress",
    "pooled_table",
    "round_table",
    "write_tables",
]
