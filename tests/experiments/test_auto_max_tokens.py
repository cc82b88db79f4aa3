"""A sweep that sets no max_tokens runs with "auto" (each task's own cap): its trial keys say "auto",
never the old default 128, so a store made before keeps its 128-token trials apart; writing
``max_tokens = 128`` gives the old keys back."""

from __future__ import annotations

import pytest

from llm_modulo.experiments.schema import SamplingSpec
from llm_modulo.experiments.worker import build_strategy, trial_task
from llm_modulo.models.random_proposer import RandomProposer
from tests.experiments.test_config import load, variant

OLD_DEFAULT = {"temperature": 1.0, "top_p": 0.95, "max_tokens": 128}


def test_auto_is_the_default_and_reads_auto_in_the_key():
    assert SamplingSpec().max_tokens is None
    assert SamplingSpec().model_dump(mode="json")["max_tokens"] == "auto"
    assert SamplingSpec(max_tokens="auto") == SamplingSpec()  # type: ignore[arg-type]  # how a TOML file writes it
    assert SamplingSpec.model_validate(SamplingSpec().model_dump(mode="json")) == SamplingSpec()
    with pytest.raises(ValueError):
        SamplingSpec(max_tokens=0)


def test_auto_keys_differ_from_the_old_default_and_128_restores_them(planbench, tmp_path):
    auto = load(tmp_path, variant()).trials
    written = load(tmp_path, variant(sampling={"max_tokens": "auto"})).trials
    old = load(tmp_path, variant(sampling=OLD_DEFAULT)).trials
    assert [t.key for t in auto] == [t.key for t in written]
    assert {t.key for t in auto}.isdisjoint(t.key for t in old)  # no stored 128-token trial is taken for auto
    assert all(t.config()["sampling"]["max_tokens"] == "auto" for t in auto)
    assert all(t.config()["sampling"] == OLD_DEFAULT for t in old)


def test_the_trial_runs_with_its_tasks_cap_and_records_it(planbench, tmp_path):
    (trial,) = load(
        tmp_path, variant(instance_sets=[{"domain": "blocksworld", "set": "blocksworld/generated_basic_3", "count": 1}])
    ).trials
    domain, task = trial_task(trial)
    strategy = build_strategy(trial, RandomProposer(seed=0), domain)
    assert strategy.options.max_tokens is None
    result = strategy.run(task)
    assert result.config["max_tokens"] == strategy.max_tokens_for(task) > 128 and result.config["max_tokens_auto"]
    fixed = load(tmp_path, variant(sampling={"max_tokens": 64})).trials[0]
    assert build_strategy(fixed, RandomProposer(seed=0), domain).max_tokens_for(task) == 64
