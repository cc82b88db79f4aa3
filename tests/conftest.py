"""Shared fixtures. Benchmark data is read from ../shared/benchmarks (see its README)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(os.environ.get("LLM_MODULO_BENCHMARKS", REPO.parent / "shared" / "benchmarks"))
PLANBENCH = BENCHMARKS / "planbench"


@pytest.fixture(scope="session")
def planbench() -> Path:
    if not PLANBENCH.is_dir():
        pytest.skip(f"PlanBench data not found at {PLANBENCH}")
    return PLANBENCH


@pytest.fixture(scope="session")
def bw():
    from llm_modulo.domains.blocksworld import blocksworld

    return blocksworld()


@pytest.fixture(scope="session")
def sussman(bw):
    from llm_modulo.domains.blocksworld import sussman_anomaly

    return sussman_anomaly(bw)


SUSSMAN_PLAN = [
    "unstack the orange block from on top of the red block",
    "put down the orange block",
    "pick up the blue block",
    "stack the blue block on top of the orange block",
    "pick up the red block",
    "stack the red block on top of the blue block",
]


@pytest.fixture
def sussman_plan_text() -> str:
    return "\n".join(SUSSMAN_PLAN) + "\n[PLAN END]"
