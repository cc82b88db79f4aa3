"""Imitation and expert-iteration targets: certified, compact, and never from a test instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llm_modulo.errors import InputError
from llm_modulo.training import canon, generate, targets
from llm_modulo.training.chat import training_domain


@pytest.fixture(scope="module")
def problem_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bw-train")
    generate.write_blocksworld(list(generate.blocksworld_problems(4, seed=21, min_blocks=4, max_blocks=6)), folder)
    return folder


def test_blocksworld_imitation_records_are_certified_and_compact(problem_folder: Path) -> None:
    records = list(targets.imitation_blocksworld(problem_folder))
    assert len(records) == 4
    domain = training_domain("blocksworld", "compact")
    for rec in records:
        assert rec["source"] == "imitation" and rec["domain"] == "blocksworld" and rec["method"] == "bfs"
        assert rec["prompt"][0]["content"].startswith("[STATEMENT]") and rec["prefill"] == "[PLAN]\n"
        assert rec["completion"].endswith("[PLAN END]")
        assert rec["completion"].count("\n") == rec["plan_len"]
        task = domain.load_files(problem_folder / "domain.pddl", rec["problem_file"])
        assert targets.certify(domain, task, rec["completion"])
        assert rec["problem_hash"] == canon.problem_key(task.payload.problem)
        assert not targets.certify(domain, task, rec["completion"].split("\n", 1)[1])  # a step short: invalid


def test_search_and_astar_plans_are_valid_and_shortened(problem_folder: Path) -> None:
    domain = training_domain("blocksworld")
    path = sorted(problem_folder.glob("bw-*.pddl"))[0]
    task = domain.load_files(problem_folder / "domain.pddl", path)
    optimal, _ = targets.blocksworld_plan(domain, task, method="bfs")
    for method in ("astar", "search"):
        found = targets.blocksworld_plan(domain, task, method=method, seed=1)
        assert found is not None and found[1] == method
        steps = found[0]
        assert len(steps) >= len(optimal)
        assert targets.certify(domain, task, domain.plan_text(steps, task) + "[PLAN END]")
    assert targets.shorten(task.payload.problem, optimal) == optimal  # an optimal plan cannot be shortened


def test_shorten_removes_a_detour() -> None:
    from llm_modulo.domains.blocksworld import sussman_anomaly

    domain = training_domain("blocksworld")
    task = sussman_anomaly(domain.inner)
    problem = task.payload.problem
    optimal, _ = targets.blocksworld_plan(domain, task, method="bfs")
    # a useless pick-up / put-down of a clear table block in front of the plan
    clear_table = next(b for b in problem.objects if ("ontable", b) in problem.init and ("clear", b) in problem.init)
    detour = [("pick-up", (clear_table,)), ("put-down", (clear_table,)), *optimal]
    assert targets.certify(domain, task, domain.plan_text(detour, task) + "[PLAN END]")
    assert len(targets.shorten(problem, detour)) == len(optimal)


def test_imitation_refuses_a_test_instance(planbench: Path, tmp_path: Path) -> None:
    from llm_modulo.domains.blocksworld import domain_file

    (tmp_path / "domain.pddl").write_text(domain_file("blocksworld").read_text())
    (tmp_path / "p1.pddl").write_text((planbench / "blocksworld" / "generated_basic" / "instance-3.pddl").read_text())
    with pytest.raises(InputError, match="test instance"):
        list(targets.imitation_blocksworld(tmp_path))
    with pytest.raises(InputError, match="test puzzle"):
        list(targets.imitation_game24([(4, 5, 6, 10), (1, 1, 4, 6)]))  # rank 901's numbers, then another


def test_game24_imitation(game24_records: list[dict[str, Any]]) -> None:
    domain = training_domain("game24", "compact")
    assert len(game24_records) == 8
    for rec in game24_records:
        numbers = [int(x) for x in rec["prompt"][0]["content"].removeprefix("Input: ").split()]
        task = domain.make_task(numbers)
        assert rec["prefill"] == "Steps:\n" and rec["completion"].endswith("[END]")
        assert rec["completion"].count("\n") == 4  # three steps and the answer line
        assert targets.certify(domain, task, rec["completion"])
        assert rec["problem_hash"] == canon.game24_key(numbers)


# -- expert iteration from a store ----------------------------------------------------------------


def test_expert_records_come_from_llm_runs_on_training_problems(
    problem_folder: Path, planbench: Path, tmp_path: Path, store_trial: Any
) -> None:
    from llm_modulo.domains.blocksworld import blocksworld
    from llm_modulo.experiments.store import TrialStore

    sweep_domain = blocksworld()  # the sweep's own prompts (one-shot): not what is kept
    imitation = {Path(r["problem_file"]).stem: r for r in targets.imitation_blocksworld(problem_folder)}
    path = tmp_path / "trials.sqlite"
    with TrialStore(path) as store:
        for stem in sorted(imitation)[:2]:
            task = sweep_domain.load_files(problem_folder / "domain.pddl", problem_folder / f"{stem}.pddl")
            good = imitation[stem]["completion"]
            bad = good.split("\n", 1)[1]
            store_trial(
                store, "blocksworld", f"{problem_folder}/{stem}", task, sweep_domain, [bad, good, good + "\n"], "llm"
            )
            store_trial(store, "blocksworld", f"{problem_folder}/{stem}", task, sweep_domain, [good], "random")
        test_task = sweep_domain.load("blocksworld/generated_basic/instance-1")
        optimal, _ = targets.blocksworld_plan(sweep_domain, test_task, method="bfs")
        plan = sweep_domain.plan_text(optimal, test_task) + "[PLAN END]"
        store_trial(
            store, "blocksworld", "blocksworld/generated_basic/instance-1", test_task, sweep_domain, [plan], "llm"
        )

    records = list(targets.expert_records(path))
    assert (
        len(records) == 2
    )  # one per training problem: duplicates merged, the failed sample, random and test runs dropped
    for rec in records:
        assert rec["source"] == "expert" and rec["strategy"] == "best-of-n"
        assert rec["prompt"][0]["content"].startswith("[STATEMENT]")
        assert rec["completion"] == imitation[Path(rec["instance"]).name]["completion"]
    assert {r["problem_hash"] for r in records} <= {r["problem_hash"] for r in imitation.values()}

    with_test = list(targets.expert_records(path, allow_test=True))
    assert len(with_test) == 3 and any(r["instance"].startswith("blocksworld/generated_basic") for r in with_test)
    assert len(list(targets.expert_records(path, include_random=True))) == 2  # same answers: deduplicated


def _noop_pair(problem: Any) -> list[targets.Step]:
    """Two steps that undo each other from the initial state: lift a clear block and put it back."""
    init = {tuple(f) for f in problem.init}
    block = next(b for b in sorted(problem.objects) if ("clear", b) in init)
    if ("ontable", block) in init:
        return [("pick-up", (block,)), ("put-down", (block,))]
    below = next(f[2] for f in init if f[0] == "on" and f[1] == block)
    return [("unstack", (block, below)), ("stack", (block, below))]


def test_expert_selection_keeps_the_shortest_and_shortens_detours(
    problem_folder: Path, tmp_path: Path, store_trial: Any
) -> None:
    from llm_modulo.domains.blocksworld import blocksworld
    from llm_modulo.experiments.store import TrialStore

    domain = blocksworld()
    stems = sorted(p.stem for p in problem_folder.glob("bw-*.pddl"))[:2]
    tasks = {s: domain.load_files(problem_folder / "domain.pddl", problem_folder / f"{s}.pddl") for s in stems}
    optimal = {s: targets.blocksworld_plan(domain, t, method="bfs")[0] for s, t in tasks.items()}
    detour = {s: _noop_pair(t.payload.problem) + optimal[s] for s, t in tasks.items()}
    text = {
        s: {k: domain.plan_text(v[s], tasks[s]) + "[PLAN END]" for k, v in (("opt", optimal), ("detour", detour))}
        for s in stems
    }
    path = tmp_path / "trials.sqlite"
    with TrialStore(path) as store:
        first, second = stems  # the first has a detour and an optimal plan certified; the second only a detour
        store_trial(
            store,
            "blocksworld",
            f"{problem_folder}/{first}",
            tasks[first],
            domain,
            [text[first]["detour"], text[first]["opt"]],
            "llm",
        )
        store_trial(
            store, "blocksworld", f"{problem_folder}/{second}", tasks[second], domain, [text[second]["detour"]], "llm"
        )

    lines = lambda rec: rec["completion"].count("\n")  # noqa: E731
    every = list(targets.expert_records(path))
    assert sorted(lines(r) for r in every) == sorted([len(detour[first]), len(optimal[first]), len(detour[second])])
    shortest = {Path(r["instance"]).name: r for r in targets.expert_records(path, select="shortest")}
    assert len(shortest) == 2 and lines(shortest[first]) == len(optimal[first])  # the detour of the first dropped
    assert lines(shortest[second]) == len(detour[second])  # the second's only plan kept as it is
    shortened = list(targets.expert_records(path, select="shortened"))
    assert len(shortened) == 2  # the first's detour, shortened, is its optimal plan: one record
    for rec in shortened:
        stem = Path(rec["instance"]).name
        assert lines(rec) == len(optimal[stem]) and targets.certify(domain, tasks[stem], rec["completion"])
    second_rec = next(r for r in shortened if Path(r["instance"]).name == second)
    assert second_rec["shortened_from"] == len(detour[second])
    with pytest.raises(InputError, match="unknown expert selection"):
        list(targets.expert_records(path, select="best"))

    from typer.testing import CliRunner

    from llm_modulo.cli import app

    res = CliRunner().invoke(
        app, ["expert-data", str(path), "--out", str(tmp_path / "e.jsonl"), "--select", "shortened"]
    )
    assert res.exit_code == 0, res.output
    assert [r["completion"] for r in targets.read_jsonl(tmp_path / "e.jsonl")] == [r["completion"] for r in shortened]
    res = CliRunner().invoke(app, ["expert-data", str(path), "--out", str(tmp_path / "e.jsonl"), "--select", "best"])
    assert res.exit_code != 0 and "unknown expert selection" in res.output
    assert len(targets.read_jsonl(tmp_path / "e.jsonl")) == len(shortened)  # the earlier file is left whole


def test_jsonl_round_trip(game24_records: list[dict[str, Any]], tmp_path: Path) -> None:
    n = targets.write_jsonl(game24_records, tmp_path / "d.jsonl")
    assert n == len(game24_records) and targets.read_jsonl(tmp_path / "d.jsonl") == game24_records
