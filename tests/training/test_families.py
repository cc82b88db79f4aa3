"""Training data across domains and vocabularies: the renaming-invariant exclusion, the vocabularies, make-data."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from llm_modulo.domains.families import FAMILIES, draw_problem
from llm_modulo.domains.families.draws import problem_text
from llm_modulo.domains.planning.keys import planning_test_keys, structure_key
from llm_modulo.domains.planning.renaming import VOCABULARY_FAMILIES, held_out_names, rename_problem
from llm_modulo.domains.planning.render import rename_symbols
from llm_modulo.errors import InputError
from llm_modulo.verifiers.planning.pddl import load_problem


def _reordered(domain_text: str, problem_text_: str, seed: int) -> str:
    """The problem written again with its objects, initial facts and goal in a random order."""
    problem = load_problem(domain_text, problem_text_)
    rng = random.Random(seed)
    objects = list(problem.objects.items())
    init, goal = sorted(problem.init), [f for _, f in problem.goal]
    for items in (objects, init, goal):
        rng.shuffle(items)
    typed = {o: "" if t == "object" else t for o, t in objects}
    return problem_text(problem.name, problem.domain_name, typed, init, goal)


def _key(domain_text: str, problem_text_: str) -> str:
    return structure_key(load_problem(domain_text, problem_text_))


@pytest.mark.parametrize(
    "folder",
    [
        "blocksworld/generated_basic",
        "blocksworld/generated_basic_3",
        "blocksworld_hard/generated",
        "logistics/generated_basic",
    ],
)
@pytest.mark.parametrize("vocabulary", ["words", "random"])
def test_a_renamed_reordered_test_instance_is_excluded(planbench: Path, folder: str, vocabulary: str) -> None:
    from llm_modulo.domains.planning.instances import domain_file_for

    excluded = planning_test_keys(planbench)
    for path in sorted((planbench / folder).glob("instance-*.pddl"))[:5]:
        domain_text, text = domain_file_for(path).read_text(), path.read_text()
        new_domain, new_problem, names = rename_problem(domain_text, text, vocabulary, random.Random(path.name))
        assert names and new_problem != text  # every action, predicate and object has another name
        moved = _reordered(new_domain, new_problem, seed=len(path.name))
        assert _key(new_domain, moved) == _key(domain_text, text)
        assert _key(new_domain, moved) in excluded


def test_mystery_and_randomized_mystery_spellings_share_the_keys(planbench: Path) -> None:
    from llm_modulo.domains.blocksworld import random_mystery_blocksworld

    bw, mystery = planbench / "blocksworld", planbench / "blocksworld" / "mystery"
    names = random_mystery_blocksworld().pddl_names  # the PDDL names written as PlanBench's random strings
    domain_text = (bw / "generated_domain.pddl").read_text()
    for n in (2, 7, 50):
        text = (bw / "generated_basic" / f"instance-{n}.pddl").read_text()
        key = _key(domain_text, text)
        twin = (mystery / "generated_basic" / f"instance-{n}.pddl").read_text()
        assert _key((mystery / "generated_domain.pddl").read_text(), twin) == key
        assert _key(rename_symbols(domain_text, names), rename_symbols(text, names)) == key


def test_a_different_problem_is_not_excluded(planbench: Path) -> None:
    excluded = planning_test_keys(planbench)
    domain_text = (planbench / "blocksworld" / "generated_domain.pddl").read_text()
    text = (planbench / "blocksworld" / "generated_basic" / "instance-7.pddl").read_text()
    problem = load_problem(domain_text, text)
    goal = [f for _, f in problem.goal]
    changed = problem_text(
        "changed", problem.domain_name, dict.fromkeys(problem.objects, ""), sorted(problem.init), goal[:-1]
    )
    assert _key(domain_text, changed) != _key(domain_text, text)  # one goal fact fewer: another problem
    rng = random.Random(0)
    for name in ("gripper", "ferry", "miconic", "depots"):
        d, p, _ = draw_problem(name, rng)
        assert _key(d, p) not in excluded
    big = [_key(*draw_problem("blocksworld", rng, size=9)[:2]) for _ in range(20)]
    assert not set(big) & excluded


def test_no_three_block_problem_can_be_drawn_and_every_one_is_a_test_instance(planbench: Path) -> None:
    from llm_modulo.domains.blocksworld import domain_file
    from llm_modulo.domains.blocksworld.generate import random_blocksworld

    assert FAMILIES["blocksworld"].sizes[0] >= 4
    with pytest.raises(InputError):
        draw_problem("blocksworld", random.Random(0), size=3)
    excluded = planning_test_keys(planbench)
    domain_text = Path(domain_file("blocksworld")).read_text()
    rng = random.Random(1)
    keys = {_key(domain_text, random_blocksworld(rng, 3).pddl()) for _ in range(500)}
    assert len(keys) > 15 and keys <= excluded  # each 3-block problem is a renamed test instance


@pytest.mark.parametrize("vocabulary", VOCABULARY_FAMILIES)
def test_vocabularies_never_use_a_test_vocabulary(vocabulary: str) -> None:
    held = held_out_names()
    assert {"craves", "province", "harmony", "attack", "succumb", "overcome", "feast"} <= held  # Mystery's
    assert "1jpkithdyjmlikck" in held  # Randomized Mystery's
    rng = random.Random(3)
    for name in FAMILIES:
        d, p, _ = draw_problem(name, rng)
        new_domain, new_problem, names = rename_problem(d, p, vocabulary, rng)
        assert _key(new_domain, new_problem) == _key(d, p)
        fresh = set(names.values())
        assert len(fresh) == len(names)  # no two symbols share a name
        if vocabulary != "original":
            words = {w for v in fresh if not v.startswith("?") for w in v.split("-")}  # parameters: ?a ?b ...
            assert not words & held


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def test_make_data_across_domains_writes_certified_records(tmp_path: Path, planbench: Path) -> None:
    from llm_modulo.training.chat import training_domain
    from llm_modulo.training.commands import make_data
    from llm_modulo.training.targets import certify

    out = tmp_path / "mix"
    summary = make_data(None, out, count=30, seed=2, domains=list(FAMILIES), vocabularies=list(VOCABULARY_FAMILIES))
    assert summary["records"] == 30 and summary["prompt_format"] == "full"
    assert summary["by_family"] == dict.fromkeys(FAMILIES, 6)
    assert summary["by_vocabulary"] == dict.fromkeys(VOCABULARY_FAMILIES, 10)
    records = _records(out)
    problems = {
        json.loads(line)["task_id"]: json.loads(line) for line in (out / "problems.jsonl").read_text().splitlines()
    }
    excluded = planning_test_keys(planbench)
    for rec in records:
        assert rec["domain"] == "pddl" and rec["problem_hash"] not in excluded
        source = problems[rec["task_id"]]
        domain = training_domain("pddl", "full", style=rec["style"])
        task = domain.make_task(
            load_problem(source["domain_pddl"], source["problem_pddl"]), source["domain_pddl"], source["problem_pddl"]
        )
        assert domain.prompt(task).messages[0]["content"] == rec["prompt"][0]["content"]  # the domain is described
        assert certify(domain, task, rec["completion"])  # re-checked by the validator
        assert structure_key(task.payload.problem) == rec["problem_hash"]
    assert len({r["problem_hash"] for r in records}) == len(records)
    make_data("pddl", tmp_path / "again", count=30, seed=2)
    assert _records(tmp_path / "again") == records  # deterministic for a seed; "pddl" alone means every family


def test_make_data_refuses_bad_family_options(tmp_path: Path) -> None:
    from llm_modulo.training.commands import make_data

    with pytest.raises(InputError, match="unknown domain families"):
        make_data(None, tmp_path, domains=["chess"])
    with pytest.raises(InputError, match="unknown vocabulary families"):
        make_data(None, tmp_path, vocabularies=["klingon"])
    with pytest.raises(InputError, match="prompt format is full"):
        make_data(None, tmp_path, domains=["gripper"], prompt_format="compact")
    with pytest.raises(InputError, match="not 'game24'"):
        make_data("game24", tmp_path, vocabularies=["words"])


def test_cli_make_data_families_and_bad_input(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from llm_modulo.cli import app

    ok = CliRunner().invoke(
        app,
        [
            "make-data",
            "--domains",
            "gripper,ferry",
            "--vocabularies",
            "random",
            "--count",
            "4",
            "--out",
            str(tmp_path / "d"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["by_family"] == {"gripper": 2, "ferry": 2}
    bad = CliRunner().invoke(app, ["make-data", "--domains", "chess", "--out", str(tmp_path / "e")])
    assert bad.exit_code == 2 and "unknown domain families" in bad.output
