"""The token cap of a completion: "auto" asks the domain for its bound, an explicit value wins, and
completions the cap stopped are counted and reported."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from llm_modulo import BestOfN, Budget, Direct, Modulo, ScriptedModel
from llm_modulo.cli import app
from llm_modulo.contract import CAPABILITIES
from llm_modulo.errors import OptionError
from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SamplingParams
from llm_modulo.strategies.options import (
    DEFAULT_MAX_TOKENS,
    MAX_TOKENS_MARGIN,
    DirectOptions,
    ModuloOptions,
    StrategyOptions,
    answer_token_cap,
)
from llm_modulo.types import Task
from tests.core.test_contract import TASK, Sums


class BoundedSums(Sums):
    """Knows its answers: two digits, a space and an end marker."""

    def max_answer_chars(self, task: Task) -> int:
        return 40


class CapModel(ScriptedModel):
    """A scripted model that records each call's cap and says the cap stopped completions that
    ``truncate`` picks (finish reason "length"), as local.py and openai_http.py report it."""

    def __init__(self, script: list[str], truncate: Any = lambda text: False) -> None:
        super().__init__(script, cycle=True)
        self.caps: list[int] = []
        self.truncate = truncate

    def sample(self, prompt: Prompt, n: int, params: SamplingParams, constraint: LineConstraint | None = None) -> Batch:
        self.caps.append(params.max_tokens)
        batch = super().sample(prompt, n, params, constraint)
        return Batch(
            completions=[
                Completion(c.text, c.tokens, c.prompt_tokens, "length" if self.truncate(c.text) else "stop")
                for c in batch.completions
            ]
        )


def test_the_capability_is_in_the_contract_table_with_its_fallback():
    capability = CAPABILITIES["max_answer_chars"]
    assert "max_tokens" in capability.used_by and capability.fallback and "256" in capability.fallback


def test_auto_is_the_default_and_asks_the_domain():
    assert StrategyOptions().max_tokens is None and ModuloOptions().max_tokens is None
    model = CapModel(["2 3"])
    result = Direct(model, BoundedSums()).run(TASK)
    assert model.caps == [40 + MAX_TOKENS_MARGIN]
    assert result.config["max_tokens"] == 40 + MAX_TOKENS_MARGIN and result.config["max_tokens_auto"] is True
    assert result.config["max_tokens"] == answer_token_cap(None, BoundedSums(), TASK)


def test_a_domain_without_a_bound_gets_the_generic_default():
    model = CapModel(["2 3"])
    Direct(model, Sums()).run(TASK)
    assert model.caps == [DEFAULT_MAX_TOKENS] == [256]


def test_an_explicit_cap_wins():
    for strategy in (
        Direct(CapModel(["2 3"]), BoundedSums(), max_tokens=7),
        Direct(CapModel(["2 3"]), BoundedSums(), options=DirectOptions(max_tokens=7)),
        Direct(CapModel(["2 3"]), BoundedSums(), params=SamplingParams(max_tokens=7)),  # the older spelling
    ):
        result = strategy.run(TASK)
        assert strategy.model.caps == [7] and result.config["max_tokens"] == 7  # type: ignore[attr-defined]
        assert "max_tokens_auto" not in result.config


@pytest.mark.parametrize("bad", [0, -3, 1.5, "auto", True])
def test_the_options_model_stays_strict(bad):
    with pytest.raises(OptionError, match="max_tokens"):
        Modulo(ScriptedModel([]), Sums(), max_tokens=bad)


def test_truncated_samples_are_counted_and_noted():
    model = CapModel(["1 1", "2 2 2 2 2 2", "0 0"], truncate=lambda text: text.count(" ") > 2)
    result = BestOfN(model, Sums(), budget=Budget(rounds=1), n=3).run(TASK)
    assert result.usage.samples == 3 and result.usage.truncated == 1
    assert result.info["truncated"].startswith("1 of 3 samples hit the 256-token cap; raise --max-tokens")


def test_no_note_when_nothing_was_cut():
    result = Modulo(CapModel(["2 3"]), Sums(), budget=Budget(rounds=2)).run(TASK)
    assert result.verified and result.usage.truncated == 0 and "truncated" not in result.info


def test_solve_prints_the_note_in_text_and_json(monkeypatch):
    from llm_modulo.cli import solve as solve_cli
    from llm_modulo.domains.blocksworld import SUSSMAN, domain_file

    model = CapModel(["unstack the orange block"], truncate=lambda text: True)
    monkeypatch.setattr(solve_cli, "_load_model", lambda spec, seed: (model, 0.0))
    args = ["solve", "--domain", str(domain_file()), "--problem", str(SUSSMAN), "--strategy", "best-of-n"]
    args += ["--constrained", "none", "--rounds", "1", "-n", "2", "--max-tokens", "9"]
    runner = CliRunner()
    text = runner.invoke(app, args)
    assert "2 of 2 samples hit the 9-token cap; raise --max-tokens" in " ".join(text.output.split())
    done = runner.invoke(app, [*args, "--json"])
    data = json.loads(done.stdout)
    assert data["usage"]["truncated"] == 2 and data["config"]["max_tokens"] == 9
    assert data["info"]["truncated"].startswith("2 of 2 samples hit the 9-token cap")
    assert "note: 2 of 2 samples" in done.stderr
