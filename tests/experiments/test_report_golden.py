"""A committed store regenerates its report byte for byte: ``report.md``, ``trials.csv`` and the arms as JSON.

The store (``data/golden.sqlite``) and the expected outputs (``data/golden/``) are committed; a
change that alters any output byte fails here. The PNG figures are written but not compared
(their bytes depend on the matplotlib version). After a deliberate change to the report, rewrite
the expected outputs and review the diff:

    .venv/bin/python tests/experiments/test_report_golden.py --write          # outputs only
    .venv/bin/python tests/experiments/test_report_golden.py --write --store  # the store too
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from synthetic_store import DEMO_META, demo_rows, odd_rows, trial, write_store

from llm_modulo.experiments.report import (
    budget_families,
    compare_controls,
    feedback_families,
    load_trials,
    summarise,
    winners_by_budget,
    winners_by_calls,
    write_report,
)

DATA = Path(__file__).parent / "data"
STORE = DATA / "golden.sqlite"
GOLDEN = DATA / "golden"
# (output folder, sweep): the whole store, and one sweep that borrows trials stored by another
CASES = (("all", None), ("odd", "odd"))


def golden_rows() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The demo sweep, plus a sweep ``odd`` with errors, self-consistency at two budgets, search,
    game24 modulo, proved-unsolvable (``no_solution``) trials, and two demo trials it borrows."""
    rows = demo_rows()
    odd = odd_rows(sweep="odd")
    # a hard critic proved these unsolvable before the model was asked: a certified outcome
    unsolvable = {"domain": "blocksworld", "instance_set": "blocksworld/unsolvable"}
    for proposer, tokens in ((None, 3000), ("random", 2000)):
        odd += [
            trial(
                sweep="odd",
                label="modulo",
                index=i,
                strategy="modulo",
                **({"model": proposer} if proposer else {}),
                status="no_solution" if i <= 3 else "exhausted",
                rounds=0 if i <= 3 else 10,
                samples=0 if i <= 3 else 40,
                tokens=0 if i <= 3 else tokens,
                budget={"rounds": 10, "samples": 40},
                **unsolvable,
            )
            for i in range(1, 6)
        ]
    borrowed = [r for r in rows if r["label"] == "direct"][:2]
    meta = dict(DEMO_META)
    meta["sweep/odd/trials"] = {r["key"]: "direct (borrowed)" for r in borrowed}
    meta["sweep/odd/config"] = {"path": "configs/odd.toml", "text": "name = 'odd'", "format": "toml"}
    meta["sweep/odd/run/2025-01-03T00:00:00Z"] = {
        "commit": "fedcba9876543210fedc",
        "dirty": False,
        "hardware": {"cpu": "Test CPU", "cores": 4, "memory_gib": 16.0, "gpu": "Test GPU", "platform": "Linux-x86_64"},
        "python": "3.12.1",
        "torch": "2.5.0",
        "executor": "local",
        "workers": 1,
        "seconds": 42.5,
        "trials_run": len(odd),
        "command": "llm-modulo bench configs/odd.toml",
    }
    return rows + odd, meta


def arms_json(store: Path) -> str:
    """What the arm layer makes of the store: arms, controls, winners and families, as JSON."""
    arms = summarise(load_trials(store))

    def winners(ws: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "budget": w.budget,
                "unit": w.unit,
                "sentence": w.sentence,
                "ranked": [[a.name, k, rate, lo, hi] for a, k, rate, lo, hi in w.ranked],
            }
            for w in ws
        ]

    data = {
        "arms": [a.as_dict() for a in arms],
        "controls": [
            {"llm": c.llm.name, "random": c.random.name if c.random else None, "match": c.match, "sentence": c.sentence}
            for c in compare_controls(arms)
        ],
        "winners_samples": winners(winners_by_budget(arms, "samples")),
        "winners_tokens": winners(winners_by_budget(arms, "tokens")),
        "winners_calls": winners(winners_by_calls(arms)),
        "feedback_families": [[a.name for a in f] for f in feedback_families(arms)],
        "budget_families": [[a.name for a in f] for f in budget_families(arms)],
    }
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_outputs(workdir: Path) -> dict[str, bytes]:
    """Every compared output, generated in ``workdir`` from a copy of the committed store (relative
    paths, so the report's regenerate command is the same wherever it runs)."""
    shutil.copyfile(STORE, workdir / "golden.sqlite")
    here = Path.cwd()
    os.chdir(workdir)
    try:
        out: dict[str, bytes] = {}
        for name, sweep in CASES:
            files = write_report("golden.sqlite", name, sweep, parquet_out=False)
            assert files.csv is not None
            out[f"{name}/report.md"] = files.report.read_bytes()
            out[f"{name}/trials.csv"] = files.csv.read_bytes()
        out["arms.json"] = arms_json(Path("golden.sqlite")).encode("utf-8")
    finally:
        os.chdir(here)
    return out


def test_committed_store_regenerates_its_report_byte_for_byte(tmp_path: Path) -> None:
    assert STORE.stat().st_size < 200_000
    outputs = write_outputs(tmp_path)
    assert sorted(outputs) == sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file())
    for name, data in outputs.items():
        expected = (GOLDEN / name).read_bytes()
        assert data == expected, f"{name} differs from {GOLDEN / name} (rewrite with --write if intended)"


def test_golden_store_holds_what_it_claims() -> None:
    """The store covers the cases the golden files are meant to pin: errors, no_solution, borrowing."""
    statuses = {r["status"] for r in load_trials(STORE)}
    assert {"verified", "exhausted", "error", "no_solution", "failed"} <= statuses
    assert any(r["label"] == "direct (borrowed)" for r in load_trials(STORE, "odd"))


if __name__ == "__main__":  # pragma: no cover - regenerates the committed files
    import tempfile

    if "--write" not in sys.argv:
        pytest.exit("pass --write to rewrite the golden files (and --store to rebuild the store)")
    if "--store" in sys.argv:
        DATA.mkdir(exist_ok=True)
        STORE.unlink(missing_ok=True)
        write_store(STORE, *golden_rows())
    with tempfile.TemporaryDirectory() as tmp:
        for rel, blob in write_outputs(Path(tmp)).items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(blob)
