"""Critique-and-repair records: exactly modulo's back-prompt, answered by a shortest certified completion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llm_modulo.training import generate, repair, targets
from llm_modulo.training.chat import training_domain
from llm_modulo.types import FeedbackLevel


@pytest.fixture(scope="module")
def problem_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bw-repair")
    generate.write_blocksworld(list(generate.blocksworld_problems(3, seed=5, min_blocks=4, max_blocks=5)), folder)
    return folder


@pytest.fixture(scope="module")
def imitation(problem_folder: Path) -> dict[str, dict[str, Any]]:
    return {Path(r["problem_file"]).stem: r for r in targets.imitation_blocksworld(problem_folder)}


def _load(domain: Any, folder: Path, stem: str) -> Any:
    return domain.load_files(folder / "domain.pddl", folder / f"{stem}.pddl", task_id=stem)


def _detour(plan: str) -> str:
    """The optimal plan's first step, then a step that cannot apply (the hand is full), then the rest."""
    lines = plan.splitlines(keepends=True)
    return lines[0] + lines[0] + "".join(lines[1:])


def test_shortest_plan_from_a_given_state(problem_folder: Path, imitation: dict[str, dict[str, Any]]) -> None:
    from llm_modulo.verifiers.planning.shortest import shortest_plan

    domain = training_domain("blocksworld")
    stem = sorted(imitation)[0]
    problem = _load(domain, problem_folder, stem).payload.problem
    whole = shortest_plan(problem)
    assert whole.plan is not None and shortest_plan(problem, start=problem.initial_state()).plan == whole.plan
    after = problem.apply(problem.initial_state(), whole.plan[0])
    rest = shortest_plan(problem, start=after)
    assert rest.plan == whole.plan[1:] or len(rest.plan or ()) == len(whole.plan) - 1


@pytest.mark.parametrize("reuse_prefix", [True, False])
def test_repair_prompt_is_modulos_second_prompt(
    problem_folder: Path, imitation: dict[str, dict[str, Any]], reuse_prefix: bool
) -> None:
    from llm_modulo.domains.planning.domain import PLAN_END
    from llm_modulo.models.scripted import ScriptedModel
    from llm_modulo.strategies.modulo import Modulo
    from llm_modulo.types import Budget

    domain = training_domain("blocksworld")
    stem = sorted(imitation)[0]
    task = _load(domain, problem_folder, stem)
    good = imitation[stem]["completion"]
    bad = _detour(good.removesuffix(PLAN_END))
    model = ScriptedModel([bad + PLAN_END, "(stack a b)\n" + PLAN_END])
    result = Modulo(
        model, domain, Budget(samples=2, rounds=None), n=1, feedback=FeedbackLevel.FIRST, reuse_prefix=reuse_prefix
    ).run(task)
    assert not result.verified and len(model.prompts) == 2
    rejected = result.trace[0].samples[0].candidate.text

    prompt, _, verdicts = repair.repair_prompt(domain, task, rejected, FeedbackLevel.FIRST, reuse_prefix)
    assert prompt == model.prompts[1]  # the messages and prefill modulo sent after rejecting it
    assert not all(v.valid for v in verdicts if v.hard)
    completion = repair.finish_plan(domain, task, prompt.prefill)
    assert completion is not None and completion.endswith(PLAN_END)
    assert targets.certify(domain, task, prompt.prefill.removeprefix(domain.prompt(task).prefill) + completion)
    kept = 1 if reuse_prefix else 0  # the first step is right; the repair only has to finish the plan
    assert completion.count("\n") == good.count("\n") - kept
    # a prefill that already reaches the goal leaves nothing to finish
    assert repair.finish_plan(domain, task, domain.prompt(task).prefill + good.removesuffix(PLAN_END)) is None


def _store(path: Path, problem_folder: Path, imitation: dict[str, dict[str, Any]], _trial: Any) -> None:
    from llm_modulo.domains.blocksworld import blocksworld
    from llm_modulo.experiments.store import TrialStore

    sweep_domain = blocksworld()
    with TrialStore(path) as store:
        for stem in sorted(imitation)[:2]:
            task = sweep_domain.load_files(problem_folder / "domain.pddl", problem_folder / f"{stem}.pddl")
            good = imitation[stem]["completion"]
            bad = _detour(good.removesuffix("[PLAN END]")) + "[PLAN END]"
            short = good.split("\n", 1)[1]  # the first step left out: the second does not apply
            _trial(store, "blocksworld", f"{problem_folder}/{stem}", task, sweep_domain, [bad, bad, short, good], "llm")
            _trial(store, "blocksworld", f"{problem_folder}/{stem}", task, sweep_domain, [bad], "random")
        test_task = sweep_domain.load("blocksworld/generated_basic/instance-1")
        optimal, _ = targets.blocksworld_plan(sweep_domain, test_task, method="bfs")
        plan = sweep_domain.plan_text(optimal, test_task)
        _trial(
            store,
            "blocksworld",
            "blocksworld/generated_basic/instance-1",
            test_task,
            sweep_domain,
            [_detour(plan) + "[PLAN END]"],
            "llm",
        )


def test_repair_records_from_a_store(
    problem_folder: Path, imitation: dict[str, dict[str, Any]], planbench: Path, tmp_path: Path, store_trial: Any
) -> None:
    path = tmp_path / "trials.sqlite"
    _store(path, problem_folder, imitation, store_trial)
    domain = training_domain("blocksworld")

    records = list(repair.repair_records(path))
    assert (
        len(records) == 4
    )  # two distinct rejected answers on each training problem; random, test and certified left out
    for rec in records:
        assert rec["source"] == "repair" and rec["feedback"] == "first" and rec["reuse_prefix"] is True
        stem = Path(rec["instance"]).name
        task = _load(domain, problem_folder, stem)
        messages = [m["role"] for m in rec["prompt"]]
        assert messages == ["user", "assistant", "user"] and rec["prompt"][0]["content"].startswith("[STATEMENT]")
        assert rec["prompt"][2]["content"].startswith(
            ("The plan is not valid. Step 1,", "The plan is not valid. Step 2,")
        )
        answer = domain.parse(task, rec["prefill"] + rec["completion"])
        assert all(v.valid for v in (c.check(task, answer) for c in domain.critics(task)) if v.hard)
        optimal = imitation[stem]["plan_len"]
        assert rec["prefix_len"] + rec["plan_len"] == optimal  # a prefix of an optimal plan, finished optimally
    assert {r["prefix_len"] for r in records} == {0, 1}  # the detour keeps its valid first step; the short plan none

    assert len(list(repair.repair_records(path, allow_test=True))) == 5
    assert len(list(repair.repair_records(path, max_per_problem=1))) == 2
    no_prefix = list(repair.repair_records(path, reuse_prefix=False, feedback="binary"))
    assert all(
        r["prefix_len"] == 0 and r["prompt"][2]["content"].startswith("The plan is not valid.") for r in no_prefix
    )


def test_repair_data_command(
    problem_folder: Path, imitation: dict[str, dict[str, Any]], planbench: Path, tmp_path: Path, store_trial: Any
) -> None:
    from typer.testing import CliRunner

    from llm_modulo.cli import app

    path = tmp_path / "trials.sqlite"
    _store(path, problem_folder, imitation, store_trial)
    out = tmp_path / "repair.jsonl"
    res = CliRunner().invoke(app, ["repair-data", str(path), "--out", str(out), "--max-per-problem", "1"])
    assert res.exit_code == 0, res.output
    assert len(targets.read_jsonl(out)) == 2
    res = CliRunner().invoke(app, ["repair-data", str(tmp_path / "none.sqlite"), "--out", str(out)])
    assert res.exit_code != 0 and "no trial store" in res.output
    res = CliRunner().invoke(app, ["repair-data", str(path), "--feedback", "loud"])
    assert res.exit_code != 0 and "unknown feedback level" in res.output


def test_improve_refuses_repair_where_there_are_no_rejected_plans(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from llm_modulo.cli import app

    for args, message in (
        (["game24", "--repair", "--sample-strategy", "best-of-n"], "planning domains"),
        (["blocksworld", "--repair"], "sample with best-of-n or modulo"),  # search's trace holds steps, not whole plans
        (["blocksworld", "--sample-n", "0"], "--sample-n:"),
    ):
        res = CliRunner().invoke(app, ["improve", *args, "--out", str(tmp_path / "run")])
        assert res.exit_code != 0 and message in res.output and "Traceback" not in res.output, res.output
    assert not (tmp_path / "run").exists()
