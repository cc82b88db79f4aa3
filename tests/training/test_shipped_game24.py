"""The shipped ``smollm2-135m-game24`` adapter (README, "Game of 24"): selectable by name, trained on
compact prompts, and alone it solves a test puzzle the base model does not."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow

NAME = "smollm2-135m-game24"


def test_the_shipped_game24_adapter_is_selectable_and_compact() -> None:
    from llm_modulo.training import lora

    assert lora.resolve_adapter(NAME) == lora.packaged_adapters_root() / NAME
    assert lora.trained_prompt_formats(NAME) == ("compact",)


def test_the_shipped_game24_adapter_solves_alone_where_the_base_does_not(real_sweep_rows: Any) -> None:
    sweep = {
        "name": "shipped24", "models": [NAME, "default"], "feedback": ["first"], "seeds": [0],
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": 96},
        "budgets": [{"samples": 1, "rounds": 1}],
        # Tree-of-Thoughts test puzzles (never trained on: excluded by their sorted numbers)
        "instance_sets": [{"domain": "game24", "set": "test", "ids": ["911", "921"]}],
        "strategies": [{"name": "direct", "constrained": "well-formed", "domain_options": {"prompt_format": "compact"},
                        "sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 96}}],  # as in g24_test.toml
    }  # fmt: skip
    rows = real_sweep_rows(sweep)
    solved = {m: sorted(r["instance"] for r in rows if r["model"] == m and r["verified"]) for m in (NAME, "default")}
    assert len(rows) == 4
    # measured in g24_test: the adapter alone (greedy) solves 911 and 921; the base model solves neither
    assert solved[NAME] and solved["default"] == []
