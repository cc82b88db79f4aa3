"""Core hooks every new domain relies on: a hard critic's proof that no answer exists ends a run
before the model is asked; soft critics rank but never certify; domains that name their own
instances load through the registry, the CLI and bench configs."""

from __future__ import annotations

import sqlite3

import pytest
from toy_domain import ToyDomain, toy  # noqa: I001  (tests/core is on sys.path)
from typer.testing import CliRunner

from llm_modulo import BestOfN, Budget, CriticError, Direct, Modulo, ResultStatus, ScriptedModel
from llm_modulo.types import Verdict, VerdictStatus

TOY = f"{toy.__module__}:toy"


@pytest.fixture
def registered(monkeypatch):
    from llm_modulo import registry

    monkeypatch.setitem(registry.DOMAINS, "toy", TOY)
    return registry


@pytest.mark.parametrize("strategy", [Direct, BestOfN, Modulo])
def test_a_proof_of_no_solution_ends_the_run_before_the_model_is_asked(strategy):
    domain = ToyDomain()
    model = ScriptedModel(["9 9\n[END]"], cycle=True)
    result = strategy(model, domain, budget=Budget(samples=4)).run(domain.load("sum-19"))
    assert result.status is ResultStatus.NO_SOLUTION
    assert not result.verified
    assert model.calls == []
    (proof,) = result.certificate
    assert proof.status is VerdictStatus.INVALID and proof.violations[0].kind == "no_solution"
    assert "at most 18" in proof.violations[0].message


def test_solvable_tasks_are_asked_once_and_then_solved():
    domain = ToyDomain()
    model = ScriptedModel(["1 2\n[END]"], cycle=True)
    result = BestOfN(model, domain, budget=Budget(samples=4), n=1).run(domain.load("sum-3"))
    assert result.verified and model.calls == [1]
    assert domain.refutations == ["sum-3"]


def test_refute_false_skips_the_proof():
    domain = ToyDomain()
    model = ScriptedModel(["9 9\n[END]"], cycle=True)
    result = BestOfN(model, domain, budget=Budget(samples=2), n=1, refute=False).run(domain.load("sum-19"))
    assert result.status is ResultStatus.EXHAUSTED and model.calls == [1, 1]
    assert domain.refutations == []


def test_a_malformed_refutation_is_refused(monkeypatch):
    from toy_domain import SumCritic

    def bad_refute(self, task):
        return Verdict(status=VerdictStatus.VALID, critic="sum", score=1.0)

    monkeypatch.setattr(SumCritic, "refute", bad_refute)
    domain = ToyDomain()
    with pytest.raises(CriticError, match="malformed refutation"):
        Direct(ScriptedModel(["1 2\n[END]"]), domain).run(domain.load("sum-3"))


def test_soft_critics_break_ties_but_never_certify():
    domain = ToyDomain()
    # every answer is wrong for sum-4; the hard critic scores all pairs 0.5; the soft one prefers "0 9"
    model = ScriptedModel(["7 1\n[END]", "0 9\n[END]", "5 5\n[END]"])
    result = BestOfN(model, domain, budget=Budget(samples=3), n=3).run(domain.load("sum-4"))
    assert result.status is ResultStatus.EXHAUSTED and not result.verified
    assert result.answer == [0, 9]
    soft = [v for v in result.trace[0].samples[1].verdicts if not v.hard]
    assert soft and soft[0].status is VerdictStatus.VALID  # the soft critic accepted it; still not verified


def test_registry_loads_named_instances(registered):
    domain, task = registered.load_task("sum-4", "toy")
    assert isinstance(domain, ToyDomain) and task.payload == 4
    assert registered.domain_instances("toy", "mixed") == ["sum-3", "sum-19", "sum-5"]
    from llm_modulo.errors import InputError

    with pytest.raises(InputError, match="no toy set"):
        registered.domain_instances("toy", "nope")
    with pytest.raises(InputError, match="unexpected keyword"):
        registered.load_task("sum-4", "toy", cot=True)


def test_cli_solves_a_named_instance_and_reports_a_proof(registered):
    from llm_modulo.cli import EXIT_NO_SOLUTION, app

    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "solve",
            "--domain-name",
            "toy",
            "--instance",
            "sum-3",
            "--model",
            "random",
            "--strategy",
            "best-of-n",
            "--constrained",
            "well-formed",
            "--samples",
            "400",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "VERIFIED" in ok.output
    proof = runner.invoke(app, ["solve", "--domain-name", "toy", "--instance", "sum-19", "--model", "random"])
    assert proof.exit_code == EXIT_NO_SOLUTION, proof.output
    assert "NO SOLUTION EXISTS" in proof.output and "at most 18" in proof.output
    bad = runner.invoke(app, ["solve", "--domain-name", "toy", "--instance", "sum-x", "--model", "random"])
    assert bad.exit_code == 2 and "no toy instance" in bad.output


def test_bench_runs_named_instance_sets(registered, tmp_path):
    from llm_modulo.experiments.config import ConfigError, load_sweep
    from llm_modulo.experiments.runner import run_sweep

    config = tmp_path / "toy.toml"
    config.write_text(
        'name = "toy"\nmodels = ["random"]\nseeds = [0]\n'
        '[[budgets]]\nsamples = 200\nrounds = "none"\n'
        '[[instance_sets]]\ndomain = "toy"\nset = "mixed"\ncount = 3\n'
        '[[strategies]]\nname = "best-of-n"\nn = 50\nconstrained = "well-formed"\n'
    )
    sweep = load_sweep(config)
    assert [t.instance for t in sweep.trials] == ["sum-3", "sum-19", "sum-5"]
    outcome = run_sweep(sweep, tmp_path / "toy.sqlite", workers=1, progress=False)
    rows = dict(sqlite3.connect(tmp_path / "toy.sqlite").execute("SELECT instance, status FROM trials"))
    assert rows == {"sum-3": "verified", "sum-19": "no_solution", "sum-5": "verified"}
    from llm_modulo.experiments.report import load_trials, summarise

    (arm,) = summarise(load_trials(tmp_path / "toy.sqlite"))
    assert (arm.solved, arm.trials) == (3, 3)  # a proof that no answer exists is a certified outcome
    assert arm.statuses == {"verified": 2, "no_solution": 1}
    # bench's end-of-run count agrees with the report's
    assert (outcome.verified, outcome.solved) == (2, arm.solved)

    config.write_text(config.read_text().replace("count = 3", "count = 4"))
    with pytest.raises(ConfigError, match="count"):
        load_sweep(config)
    config.write_text(config.read_text().replace("count = 4", 'ids = ["sum-5", "sum-q"]'))
    with pytest.raises(ConfigError, match=r"ids\[1\].*no toy instance"):
        load_sweep(config)
