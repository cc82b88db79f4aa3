"""``llm-modulo report``: Wilson intervals, the report over a synthetic store, exports, the CLI."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
import subprocess
import sys

import pytest
from synthetic_store import DEMO_META, demo_rows, demo_store, odd_rows, trial, write_store
from typer.testing import CliRunner

from llm_modulo.cli import app
from llm_modulo.errors import InputError
from llm_modulo.experiments.published import anchors_for, benchmark_of
from llm_modulo.experiments.report import (
    compare_controls,
    load_meta,
    load_trials,
    success_curve,
    summarise,
    winners_by_budget,
    winners_by_calls,
    write_report,
)
from llm_modulo.experiments.stats import normal_interval, overlap, wilson_interval

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- Wilson score intervals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (0, 10, 0.0, 0.277533),  # z^2 / (n + z^2)
        (5, 10, 0.236590, 0.763410),
        (10, 10, 0.722467, 1.0),
        (1, 10, 0.017875, 0.404151),
        (3, 20, 0.052368, 0.360419),
    ],
)
def test_wilson_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-5)


def test_wilson_matches_normal_approximation_for_large_n():
    for k, n in [(5_000, 10_000), (2_500, 10_000), (300_000, 1_000_000)]:
        assert wilson_interval(k, n) == pytest.approx(normal_interval(k, n), abs=2e-4)


def test_wilson_edges_and_symmetry():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(3, 17)
    lo2, hi2 = wilson_interval(14, 17)
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    for k in range(0, 31):  # always inside [0, 1] and around the point estimate
        lo, hi = wilson_interval(k, 30)
        assert 0.0 <= lo <= k / 30 <= hi <= 1.0
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    assert overlap((0.1, 0.5), (0.5, 0.9)) and not overlap((0.1, 0.4), (0.5, 0.9))


# -- reading and summarising ---------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    return demo_store(tmp_path / "demo.sqlite")


def _arm(arms, proposer, strategy, feedback="first", samples=16, domain="blocksworld"):
    (found,) = [
        a
        for a in arms
        if a.proposer == proposer
        and a.strategy == strategy
        and a.domain == domain
        and (a.feedback == feedback or strategy != "modulo")
        and a.budget.get("samples") == samples
    ]
    return found


def test_load_trials_and_summarise(store):
    rows = load_trials(store)
    assert len(rows) == len(demo_rows()) == 75
    assert "result_json" not in rows[0] and "config_json" in rows[0]
    assert "result_json" in load_trials(store, with_result=True)[0]
    assert load_meta(store)["models"]["default"]["name"] == "SmolLM2-135M-Instruct"
    arms = summarise(rows)
    assert len(arms) == 8
    modulo = _arm(arms, "llm", "modulo", samples=40)
    assert (modulo.solved, modulo.trials, modulo.errors) == (5, 10, 1)  # the error row is apart
    assert modulo.rate == 0.5 and (modulo.lo, modulo.hi) == pytest.approx(wilson_interval(5, 10))
    assert modulo.solved_rounds == pytest.approx(2.6) and modulo.solved_samples == pytest.approx(10.4)
    assert modulo.mean_tokens == pytest.approx(1890) and modulo.tokens_per_solve == pytest.approx(18900 / 5)
    bon = _arm(arms, "llm", "best-of-n")
    assert (bon.solved, bon.trials) == (3, 10) and bon.mean_samples == pytest.approx(14.4)
    assert bon.solved_calls == pytest.approx(4 / 3)
    assert len({a.name for a in arms if a.domain == "blocksworld"}) == 7  # unique display names


def test_success_curve_counts_a_trial_from_its_usage_on():
    rows = [
        {"verified": 1, "samples": 4},
        {"verified": 1, "samples": 8},
        {"verified": 0, "samples": 16},
        {"verified": 1, "samples": 8},
    ]
    xs, ks, n = success_curve(rows, "samples", 16)
    assert (xs, ks, n) == ([0.0, 4.0, 8.0, 16.0], [0, 1, 3, 3], 4)


def test_controls_and_winners(store):
    arms = summarise(load_trials(store))
    comparisons = compare_controls(arms)
    bon = next(c for c in comparisons if c.llm.strategy == "best-of-n" and c.llm.budget["samples"] == 16)
    assert bon.random is not None and bon.random.proposer == "random" and bon.match == "same settings"
    assert "random control is as good as the LLM" in bon.sentence  # 8/10 vs 3/10 overlap at n=10
    alone = next(c for c in comparisons if c.llm.strategy == "best-of-n" and c.llm.budget["samples"] == 8)
    assert alone.random is None and "No random control" in alone.sentence
    group = [a for a in arms if a.domain == "blocksworld"]
    at = {w.budget: w for w in winners_by_budget(group)}
    assert at[16].ranked[0][0].proposer == "random" and at[16].ranked[0][1] == 8
    assert at[8].ranked[0][1] == 6  # random best-of-n read off its curve: 6 solved with 8 samples
    # the LLM best-of-n family speaks at 8 samples through its samples=8 arm (measured there): 2 solved
    llm_bon = [t for t in at[8].ranked if t[0].proposer == "llm" and t[0].strategy == "best-of-n"]
    assert [(t[0].budget["samples"], t[1]) for t in llm_bon] == [(8, 2)]
    assert "no arm has solved anything" in at[1].sentence


def test_clear_win_sentence(tmp_path):
    rows = [trial(label="best-of-n", index=i, strategy="best-of-n", status="verified", samples=4) for i in range(1, 31)]
    rows += [trial(label="best-of-n", index=i, strategy="best-of-n", model="random", samples=16) for i in range(1, 31)]
    arms = summarise(rows)
    (comparison,) = compare_controls(arms)
    assert comparison.sentence.startswith("The LLM beats the random control")
    assert "clearly ahead" in winners_by_budget(arms)[-1].sentence


def test_search_is_compared_at_equal_llm_calls_not_on_the_sample_axis():
    search_budget = {"samples": None, "nodes": 64}
    rows = [
        trial(
            label="search", index=i, strategy="search", budget=search_budget, status="verified", samples=0, rounds=4 * i
        )
        for i in range(1, 11)
    ]  # solved with 4, 8, ..., 40 scoring calls
    rows += [
        trial(
            label="best-of-n",
            index=i,
            strategy="best-of-n",
            budget={"samples": 8},
            status="verified" if i <= 3 else "exhausted",
            samples=8 if i > 3 else 2,
        )
        for i in range(1, 11)
    ]
    arms = summarise(rows)
    on_samples = {w.budget: w for w in winners_by_budget(arms)}
    assert all(t[0].strategy == "best-of-n" for w in on_samples.values() for t in w.ranked)  # search spent no samples
    by_calls = {w.budget: w for w in winners_by_calls(arms)}
    assert max(by_calls) == 40
    first = {t[0].strategy: t[1] for t in by_calls[1].ranked}
    assert first == {"best-of-n": 3, "search": 0}  # one batched call of 8 samples is one call
    assert {t[0].strategy: t[1] for t in by_calls[16].ranked} == {"best-of-n": 3, "search": 4}
    assert by_calls[40].ranked[0][0].strategy == "search" and by_calls[40].ranked[0][1] == 10
    assert "clearly ahead" in by_calls[40].sentence


# -- the report ------------------------------------------------------------------------------------


def test_report_sections_numbers_figures_and_exports(store, tmp_path):
    files = write_report(store)
    out = tmp_path / "demo-report"
    assert files.out_dir == out and files.report == out / "report.md"
    text = files.report.read_text()
    for expected in [
        "# Trial report: demo",
        f"llm-modulo report {store} --out {out}",  # the command that regenerates it
        "| trials | 75 (error 1, exhausted 49, verified 25) |",
        "`default` = SmolLM2-135M-Instruct: bf16 weights, CPU",
        "| seeds | 0 |",
        "0123456789abcdef0123 (dirty)",
        "Test CPU, 2 cores, 8 GiB, no GPU",
        "local (2 workers)",
        "| wall time | 1 h 3 min over 2 run(s) |",
        "`llm-modulo bench configs/demo.toml`",
        "1 trial(s) ended in an error",
        "ModelError: server went away",
        "## blocksworld · blocksworld/generated_basic",
        "### Success rate per arm",
        "| 5/10 | 50.0% | [23.7%, 76.3%] | 10 | 1 |",
        "| 3/10 | 30.0% | [10.8%, 60.3%] |",
        "| 0/10 | 0.0% | [0.0%, 27.8%] |",
        "### Cost per trial and per solved trial",
        "### LLM versus the random control",
        "The random control is as good as the LLM (80.0% vs 30.0%; the intervals overlap)",
        "### Which strategy wins at which budget",
        "At 16 samples: **best-of-n (random, samples=16)** (random, best-of-n) 80.0%",
        "### Published figures on this benchmark",
        "| published | o1-preview | PlanBench plan generation, zero-shot | 97.8% |",
        "| published | GPT-4 | back-prompting with a sound plan validator (at most 15 rounds) | 82.0% |",
        "10 distinct instances of `blocksworld/generated_basic` here, 600 in the published figures",
        "### Rounds to success (modulo)",
        "| 5/10 | 2.6 | 2 | 5 | 1: 1, 2: 2, 3: 1, 5: 1 |",
        "### Feedback levels (modulo)",
        "| default | llm | rounds=10, samples=40 | none | 2/10 |",
        # the Mystery set: its own anchors, and the missing sections say so
        "## mystery_blocksworld · blocksworld/mystery/generated_basic",
        "| published | o1-preview | PlanBench plan generation, zero-shot | 52.8% |",
        "No random-proposer control ran here",
        "No `modulo` arm ran on this instance set.",
        "No `modulo` arm ran, so there is no feedback-level comparison.",
    ]:
        assert expected in text, expected
    assert "Figure 4." in text and "Figure 7." not in text
    # every embedded figure exists and is a valid PNG
    embedded = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(embedded) == 6 == len(files.figures)
    for name in embedded:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, name
    from PIL import Image

    for path in files.figures:
        with Image.open(path) as image:
            image.verify()
    # exports round-trip the row count, without the trace
    with (out / "trials.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 75 and "result_json" not in table[0] and table[0]["key"]
    import pyarrow.parquet as pq

    parquet = pq.read_table(out / "trials.parquet")
    assert parquet.num_rows == 75 and "result_json" not in parquet.column_names
    assert (
        str(parquet.schema.field("verified").type) == "int64" and str(parquet.schema.field("seconds").type) == "double"
    )
    assert sum(parquet.column("verified").to_pylist()) == 25


def test_report_is_regenerated_identically(store, tmp_path):
    first = write_report(store, tmp_path / "a", csv_out=False, parquet_out=False).report.read_text()
    second = write_report(store, tmp_path / "a", csv_out=False, parquet_out=False).report.read_text()
    assert first == second
    assert not (tmp_path / "a" / "trials.csv").exists() and not (tmp_path / "a" / "trials.parquet").exists()
    assert "--no-csv --no-parquet" in first


def test_one_feedback_level_and_no_modulo_solved(tmp_path):
    rows = [trial(label="modulo", index=i, strategy="modulo", budget={"rounds": 3}) for i in range(1, 5)]
    rows += [
        trial(label="best-of-n", index=i, strategy="best-of-n", status="verified", model="random") for i in range(1, 5)
    ]
    files = write_report(write_store(tmp_path / "s.sqlite", rows), tmp_path / "out")
    text = files.report.read_text()
    assert "No `modulo` trial was solved here" in text
    assert "Only one feedback level ran (`first`)" in text
    assert "No random-proposer control ran here at the LLM arms' strategies and budgets" in text
    assert "| wall time | – (no run records) |" in text  # no meta at all: still a report
    assert len(files.figures) == 2


def test_sweep_filter_and_several_sweeps(tmp_path):
    rows = [trial(sweep="a", label="direct", index=i, strategy="direct", status="verified") for i in (1, 2)]
    rows += [trial(sweep="b", label="direct", index=i, strategy="direct", seed=1) for i in (1, 2, 3)]
    path = write_store(
        tmp_path / "two.sqlite", rows, {"sweep/b/config": {"path": "b.toml", "text": "", "format": "toml"}}
    )
    assert len(load_trials(path, "a")) == 2
    files = write_report(path, tmp_path / "b-only", "b")
    text = files.report.read_text()
    assert files.trials == 3 and "# Trial report: b" in text and "--sweep b" in text and "| seeds | 1 |" in text
    both = write_report(path, tmp_path / "both").report.read_text()
    assert "# Trial report: a, b" in both and "| 2/5 | 40.0% |" in both


def test_published_matching():
    assert benchmark_of("blocksworld", "blocksworld/generated_basic_3") == "blocksworld"
    assert benchmark_of("mystery_blocksworld", "blocksworld/mystery/generated_basic") == "mystery_blocksworld"
    assert benchmark_of("pddl", "blocksworld_hard/generated") == "blocksworld_hard"
    assert benchmark_of("pddl", "logistics/generated") == "logistics"
    assert benchmark_of("pddl", "/data/elevators") is None
    hard = {(a.protocol, a.rate) for a in anchors_for("pddl", "blocksworld_hard/generated")}
    assert hard == {("one try", 0.236), ("back-prompting with first-error feedback", 0.982)}
    assert {a.rate for a in anchors_for("game24", "game24/24.csv")} == {0.04, 0.74}


# -- errors --------------------------------------------------------------------------------------


def test_empty_store_is_a_clear_error(tmp_path):
    path = write_store(tmp_path / "empty.sqlite", [])
    with pytest.raises(InputError, match="no trials yet"):
        write_report(path)
    assert not (tmp_path / "empty-report").exists()


def test_not_a_store(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_trials(tmp_path / "missing.sqlite")
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database\n" * 10)
    with pytest.raises(InputError, match="not a trial store"):
        load_trials(text)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).executescript("CREATE TABLE things (x INTEGER);")
    with pytest.raises(InputError, match="no 'trials' table"):
        write_report(other)
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates a store


# -- the command line ----------------------------------------------------------------------------


def _one_line_error(result) -> str:
    text = result.output.strip()
    assert "Traceback" not in text
    assert text.startswith("error:") and "\n" not in text, text
    return text


def test_cli_report(store, tmp_path):
    out = tmp_path / "cli-report"
    result = runner.invoke(app, ["report", str(store), "--out", str(out), "--no-parquet"])
    assert result.exit_code == 0, result.output
    assert "75 trials; wrote" in result.output and "50.0%" in result.output
    assert (out / "report.md").is_file() and (out / "trials.csv").is_file() and not (out / "trials.parquet").exists()


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: p / "missing.sqlite", [], "trial store not found"),
        (lambda p: (p / "x.txt").write_text("not sqlite") and p / "x.txt", [], "not a trial store"),
        (lambda p: write_store(p / "empty.sqlite", []), [], "no trials yet"),
        (lambda p: write_store(p / "s.sqlite", demo_rows()[:3], DEMO_META), ["--sweep", "nope"], "no sweep 'nope'"),
    ],
)
def test_cli_errors_exit_2(tmp_path, make, args, message):
    path = make(tmp_path)
    result = runner.invoke(app, ["report", str(path), *args])
    assert result.exit_code == 2
    assert message in _one_line_error(result)


def test_report_module_is_light(tmp_path):
    code = (
        "import sys, json, llm_modulo.experiments.report\n"
        "print(json.dumps([m for m in ['matplotlib', 'pyarrow', 'numpy', 'torch'] if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
    assert math.isclose(wilson_interval(0, 10)[1], 3.841458820694124 / 13.841458820694124)


def test_odd_stores_do_not_crash(tmp_path):
    """All-error arms, non-anytime strategies at two budgets, several seeds, unlimited budgets, Game of 24."""
    rows = odd_rows()
    files = write_report(write_store(tmp_path / "odd.sqlite", rows), tmp_path / "odd")
    text = files.report.read_text()
    assert "| broken | llm | default | best-of-n | – | samples=16 | 0/0 | – | – | 0 | 2 |" in text
    assert "| 2/6 | 33.3% |" in text and "| 4/6 | 66.7% |" in text  # two seeds x three instances
    assert "Tree of Thoughts (breadth 5)" in text and "| seeds | 0, 1 |" in text
    assert "![feedback levels]" in text
    for path in files.figures:
        assert path.read_bytes().startswith(PNG_MAGIC)


def test_one_spec_under_two_digests_is_two_arms_not_one_counted_twice(tmp_path) -> None:
    """A store resumed after the scripted file, an adapter or the default model's engine changed holds the
    same instances twice under one spec: each digest is its own arm, with its own denominator."""
    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.report.arms import summarise
    from llm_modulo.experiments.report.store_rows import load_trials
    from llm_modulo.experiments.runner import run_sweep

    script = tmp_path / "plans.json"
    config = tmp_path / "sweep.toml"
    config.write_text(
        'name = "digest"\nmodels = ["scripted:plans.json"]\nseeds = [0]\n'
        "[[budgets]]\nsamples = 1\nrounds = 1\n"
        '[[instance_sets]]\ndomain = "blocksworld"\nset = "blocksworld/generated_basic_3"\ncount = 2\n'
        '[[strategies]]\nname = "direct"\n'
    )
    store = tmp_path / "store.sqlite"
    script.write_text(json.dumps({"completions": ["(pick-up zz)"], "cycle": True}))
    run_sweep(load_sweep(config), store, workers=1, progress=False)
    (one,) = summarise(load_trials(store))
    assert (one.model, one.trials) == ("scripted:plans.json", 2)
    script.write_text(json.dumps({"completions": ["(unstack c a)"], "cycle": True}))
    run_sweep(load_sweep(config), store, workers=1, progress=False)
    arms = summarise(load_trials(store))
    assert sorted(a.trials for a in arms) == [2, 2] and len({a.model for a in arms}) == 2
    assert all(a.model.startswith("scripted:plans.json [") for a in arms)
    assert len({a.name for a in arms}) == 2
