"""``bench``'s end-of-run summary and ``report`` count "solved" the same way: a trial proved to have
no solution (a hard critic's proof, before the model is asked) is a certified outcome in both.
(The end-to-end check, a sweep with a ``no_solution`` trial, is in test_refute_and_named.py.)"""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from llm_modulo.experiments import report, stats
from llm_modulo.experiments.runner import summary_table


def test_one_definition_of_solved() -> None:
    assert report.succeeded is stats.succeeded
    assert stats.succeeded({"verified": 1, "status": "verified"})
    assert stats.succeeded({"verified": 0, "status": "no_solution"})
    assert not stats.succeeded({"verified": 0, "status": "exhausted"})
    assert not stats.succeeded({"verified": 0, "status": "error"})


def test_summary_table_counts_a_proof_of_no_solution_as_solved() -> None:
    trials = [SimpleNamespace(key=f"k{i}", label="modulo", model="random", domain="toy") for i in range(4)]
    sweep = SimpleNamespace(name="s", trials=trials)
    rows = {
        "k0": {"verified": 1, "status": "verified"},
        "k1": {"verified": 0, "status": "no_solution"},
        "k2": {"verified": 0, "status": "exhausted"},
    }
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(summary_table(sweep, rows))  # type: ignore[arg-type]
    text = buffer.getvalue()
    assert "solved / trials" in text
    assert "2/3 (67%) of 4" in text
