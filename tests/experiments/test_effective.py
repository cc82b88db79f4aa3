"""A sweep never runs two identical trials: a grid axis (or option) that a strategy does not read
does not multiply its trials, and the trials kept keep their keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_modulo.errors import InputError
from llm_modulo.experiments.config import load_sweep
from llm_modulo.experiments.effective import effective_config, ignored_settings
from llm_modulo.experiments.trials import TrialSpec, trial_key
from llm_modulo.types import Budget

LEVELS = ["none", "binary", "first", "all"]


def sweep_of(tmp_path: Path, strategies: list[dict[str, Any]], name: str = "s", **grid: Any):
    data = {
        "name": name,
        "models": ["random"],
        "feedback": LEVELS,
        "seeds": [0],
        "budgets": [{"samples": 8, "rounds": None}],
        "instance_sets": [{"domain": "blocksworld", "set": "blocksworld/generated_basic_3", "count": 2}],
        "strategies": strategies,
        **grid,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_sweep(path)


BEST_OF_N = {"name": "best-of-n", "n": 8, "constrained": "well-formed"}
MODULO = {"name": "modulo", "n": 8, "constrained": "well-formed"}


def test_a_feedback_grid_runs_best_of_n_once_and_modulo_at_every_level(planbench, tmp_path):
    sweep = sweep_of(tmp_path, [BEST_OF_N, MODULO])
    arms = {(label, feedback) for label, _, feedback, _ in sweep.arms()}
    assert arms == {("best-of-n", "none"), *(("modulo", level) for level in LEVELS)}  # 1 + 4 arms, not 4 + 4
    assert len(sweep.trials) == 2 * (1 + 4)  # 2 instances
    assert sweep.redundant == 2 * 3 and sweep.duplicates == 0
    assert any("feedback, which best-of-n does not read" in w for w in sweep.warnings)
    # no two trials compute the same thing
    assert len({trial_key(effective_config(t)) for t in sweep.trials}) == len(sweep.trials)
    # the trials kept have the keys they had before: those of a grid that names each strategy's levels
    explicit = sweep_of(tmp_path, [{**BEST_OF_N, "feedback": ["none"]}, {**MODULO, "feedback": LEVELS}], name="e")
    assert [t.key for t in sweep.trials] == [t.key for t in explicit.trials] and explicit.redundant == 0


def test_budgets_do_not_multiply_direct_and_n_does_not_multiply_self_critique(planbench, tmp_path):
    direct = {"name": "direct", "constrained": "well-formed"}
    sweep = sweep_of(
        tmp_path,
        [direct, {**direct, "n": 4, "label": "direct n=4"}],
        feedback=["first"],
        budgets=[{"samples": 8}, {"samples": 16}],
    )
    assert len(sweep.trials) == 2 and {t.label for t in sweep.trials} == {"direct"}
    critique = {"name": "self-critique", "constrained": "well-formed"}
    sweep = sweep_of(tmp_path, [{**critique, "n": 1}, {**critique, "n": 8}], feedback=["first"])
    assert len(sweep.trials) == 2 and {t.options["n"] for t in sweep.trials} == {1}


def test_modulo_ignores_feedback_only_without_the_back_prompt(planbench, tmp_path):
    quiet = {**MODULO, "backprompt": False, "constrained": "executable"}
    sweep = sweep_of(tmp_path, [quiet, {**quiet, "history": True, "label": "quiet+history"}])
    assert len(sweep.trials) == 2 and {t.feedback for t in sweep.trials} == {"none"}
    assert ignored_settings("modulo", {}) == frozenset()  # a default never switches a setting off
    assert ignored_settings("modulo", {"backprompt": 0}) == frozenset()  # only the value itself


# -- the table is what the strategies do: a trial that differs only in an ignored setting runs the same


def _same_run(row: dict[str, Any]) -> Any:
    """A row's result without what may differ between identical runs (timings) or only records the
    settings (the strategy's config)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("seconds", "config")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    assert row["status"] != "error", row["error"]
    return strip(json.loads(row["result_json"]))


SAMPLING = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 16}
# (strategy entry, the settings changed in the twin trial); every change is one the table ignores
TWINS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"name": "best-of-n", "n": 1}, {"feedback": "all"}),
    ({"name": "best-of-n", "n": 1}, {"options": {"history": True, "reuse_prefix": True, "exclude_rejected": False}}),
    ({"name": "self-consistency", "n": 1, "k": 2}, {"feedback": "none"}),
    ({"name": "self-critique"}, {"feedback": "all", "options": {"n": 4}}),
    ({"name": "direct"}, {"feedback": "none", "budget": Budget(samples=8, rounds=4), "options": {"n": 4}}),
    ({"name": "search", "budgets": [{"nodes": 4}]}, {"feedback": "all", "options": {"constrained": "none"}}),
    (
        {"name": "modulo", "n": 1, "backprompt": False, "constrained": "executable"},
        {"feedback": "all", "options": {"history": True}},
    ),
]


@pytest.mark.parametrize(("entry", "change"), TWINS, ids=[f"{e['name']}-{'+'.join(c)}" for e, c in TWINS])
def test_a_setting_the_table_ignores_does_not_change_the_run(
    planbench, tiny_model_dir, tmp_path, monkeypatch, entry, change
):
    """With a real (tiny, random) language model, whose answers depend on its prompt."""
    from llm_modulo.experiments import worker

    def run_trial(spec: TrialSpec) -> dict[str, Any]:
        monkeypatch.setattr(worker, "_MODELS", {})  # a fresh model: no prompt cache left by the other run
        return worker.run_trial(spec)

    strategy = {"constrained": "well-formed", **entry}
    sweep = sweep_of(
        tmp_path,
        [strategy],
        models=[str(tiny_model_dir)],
        feedback=["first"],
        budgets=[{"samples": 2, "rounds": 2}],
        sampling=SAMPLING,
    )
    trial = sweep.trials[0]
    update = {**change, "options": {**trial.options, **change.get("options", {})}}
    twin = TrialSpec.model_validate({**trial.model_dump(), **update})
    assert trial_key(effective_config(twin)) == trial_key(effective_config(trial)) and twin.key != trial.key
    try:
        twin_row = run_trial(twin)
    except InputError:  # the strategy does not take the option at all: no twin can be in a sweep
        return
    assert _same_run(twin_row) == _same_run(run_trial(trial))


def test_the_comparison_sees_a_setting_that_is_read(planbench, tiny_model_dir, tmp_path, monkeypatch):
    """The control: modulo with the back-prompt reads the feedback level, and the run shows it."""
    from llm_modulo.experiments import worker

    sweep = sweep_of(
        tmp_path,
        [{"name": "modulo", "n": 1, "constrained": "executable"}],
        models=[str(tiny_model_dir)],
        feedback=["none", "all"],
        budgets=[{"samples": 2, "rounds": 2}],
        sampling=SAMPLING,
    )
    rows = []
    for trial in sweep.trials[:2]:
        monkeypatch.setattr(worker, "_MODELS", {})
        rows.append(_same_run(worker.run_trial(trial)))
    assert [t.feedback for t in sweep.trials[:2]] == ["none", "all"] and rows[0] != rows[1]
