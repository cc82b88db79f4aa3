"""``llm-modulo validate --plans``: many plans in one call (JSONL or a folder), one JSON line out each;
and the fast start: a plain ``validate`` command line runs without typer, and imports none of the heavy
libraries. Speed itself is measured in benchmarks/bench_validate_cli.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_modulo.cli import app, main
from llm_modulo.cli._validate import OPTIONS, parse_args
from llm_modulo.domains.blocksworld import SUSSMAN, domain_file

runner = CliRunner()
DATA = SUSSMAN.parent
DOMAIN = str(domain_file())
SUSSMAN_GOLD = "(unstack c a)\n(put-down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)\n"


def batch(tmp_path: Path, lines: list[object], *flags: str):
    plans = tmp_path / "plans.jsonl"
    plans.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    result = runner.invoke(app, ["validate", DOMAIN, str(SUSSMAN), "--plans", str(plans), *flags])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result, rows


def test_jsonl_in_jsonl_out(tmp_path) -> None:
    result, rows = batch(tmp_path, [{"id": "gold", "plan": SUSSMAN_GOLD}, {"id": 7, "plan": "(unstack c a)"}])
    assert result.exit_code == 1, result.output
    assert rows[0] == {"id": "gold", "line": 1, "valid": True, "steps": 6, "failure": None}
    assert rows[1]["id"] == 7 and rows[1]["valid"] is False and rows[1]["steps"] == 1
    assert rows[1]["failure"].startswith("after the plan, goals (on a b), (on b c) do not hold")
    assert "2 plans: 1 valid, 1 invalid, 0 bad" in result.stderr
    ok, _ = batch(tmp_path, [{"id": "gold", "plan": SUSSMAN_GOLD}])
    assert ok.exit_code == 0


def test_bad_lines_are_reported_per_line(tmp_path) -> None:
    lines = [
        "not json",
        "[1, 2]",
        {"id": "no-plan"},
        {"id": "syntax", "plan": "[PLAN]\n(unstack c a)"},
        "",
        {"id": "missing", "problem": str(tmp_path / "nope.pddl"), "plan": SUSSMAN_GOLD},
        {"id": "gold", "plan": SUSSMAN_GOLD},
    ]
    result, rows = batch(tmp_path, lines)
    assert result.exit_code == 1 and len(rows) == 6  # the blank line is no plan
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 6, 7]
    assert all(r["valid"] is None and r["error"] for r in rows[:5])
    assert "not JSON" in rows[0]["error"] and "not a JSON object" in rows[1]["error"]
    assert 'no "plan" string' in rows[2]["error"] and "not a PDDL step: '[PLAN]'" in rows[3]["error"]
    assert "problem file not found" in rows[4]["error"]
    assert rows[5]["valid"] is True and "1 valid, 0 invalid, 5 bad" in result.stderr


def test_lines_may_name_their_own_problem(tmp_path) -> None:
    lines = [{"id": "s", "plan": SUSSMAN_GOLD}]
    for n in (1, 2, 1):  # each problem is parsed once
        gold = (DATA / f"example-{n}.plan").read_text()
        lines.append({"id": f"e{n}", "problem": str(DATA / f"example-{n}.pddl"), "domain": DOMAIN, "plan": gold})
    lines.append({"id": "wrong-problem", "problem": str(DATA / "example-1.pddl"), "plan": SUSSMAN_GOLD})
    result, rows = batch(tmp_path, lines)
    assert [r["valid"] for r in rows] == [True, True, True, True, False], rows
    assert result.exit_code == 1


def test_a_folder_of_plan_files(tmp_path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "a.plan").write_text(SUSSMAN_GOLD)
    (folder / "b.plan").write_text("(pick-up zz)\n")
    (folder / "c.plan").write_bytes(b"\xff\x00")
    (folder / ".hidden").write_text("ignored")
    result = runner.invoke(app, ["validate", DOMAIN, str(SUSSMAN), "--plans", str(folder)])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a.plan", "b.plan", "c.plan"] and result.exit_code == 1
    assert rows[0]["valid"] is True and rows[0]["file"] == str(folder / "a.plan")
    assert rows[1]["failure"] == "step 1 (pick-up zz): unknown object zz"
    assert rows[2]["valid"] is None and "not UTF-8" in rows[2]["error"]


def test_lenient_batch_reports_skipped_lines(tmp_path) -> None:
    answer = "Here is my plan.\n[PLAN]\n" + SUSSMAN_GOLD + "[PLAN END]\n"
    result, rows = batch(tmp_path, [{"id": 1, "plan": answer}], "--lenient")
    assert result.exit_code == 0 and rows[0]["valid"] is True
    assert rows[0]["skipped"] == [{"line": 1, "text": "Here is my plan."}]


def test_bad_input_to_the_command_is_exit_2(tmp_path) -> None:
    def error(*args: str) -> str:
        result = runner.invoke(app, ["validate", *args])
        assert result.exit_code == 2, result.output
        return result.stderr.strip()

    plan = tmp_path / "p.plan"
    plan.write_text(SUSSMAN_GOLD)
    assert "file not found" in error(DOMAIN, str(SUSSMAN), "--plans", str(tmp_path / "nope.jsonl"))
    assert "not both" in error(DOMAIN, str(SUSSMAN), str(plan), "--plans", str(plan))
    assert "no plan" in error(DOMAIN, str(SUSSMAN))
    # the command's own PDDL files are read first, whether or not a line needs them
    assert "problem file not found" in error(DOMAIN, str(tmp_path / "nope.pddl"), "--plans", str(plan))


def test_stdin_jsonl(tmp_path) -> None:
    line = json.dumps({"id": "gold", "plan": SUSSMAN_GOLD}) + "\n"
    result = runner.invoke(app, ["validate", DOMAIN, str(SUSSMAN), "--plans", "-"], input=line)
    assert result.exit_code == 0 and json.loads(result.stdout)["valid"] is True


def test_a_large_batch_is_checked_in_two_processes_with_the_same_lines_in_order(tmp_path, monkeypatch) -> None:
    from llm_modulo.cli import _validate_batch

    forks = []
    fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or fork())
    monkeypatch.setattr(_validate_batch, "SPLIT_AT", 4)
    lines: list[object] = []
    for n in range(3):
        gold = (DATA / "example-1.plan").read_text()
        lines += [{"id": f"g{n}", "plan": SUSSMAN_GOLD}, {"id": f"i{n}", "plan": "(unstack c a)"}, "not json"]
        lines.append({"id": f"e{n}", "problem": str(DATA / "example-1.pddl"), "plan": gold})
    monkeypatch.setattr(_validate_batch, "_cores", lambda: 2)
    split, split_rows = batch(tmp_path, lines)
    assert forks == [1]
    monkeypatch.setattr(_validate_batch, "_cores", lambda: 1)
    single, single_rows = batch(tmp_path, lines)
    assert forks == [1] and len(split_rows) == 12
    assert split_rows == single_rows and split.stderr == single.stderr and split.exit_code == single.exit_code == 1
    assert "12 plans: 6 valid, 3 invalid, 3 bad" in split.stderr


def test_the_second_half_runs_in_a_child_and_a_failed_child_loses_nothing() -> None:
    from llm_modulo.cli._validate_batch import in_two

    parent = os.getpid()

    def rows(items):
        for x in items:
            yield f"{x}:{os.getpid() == parent}", "valid"

    assert list(in_two(list(range(6)), rows)) == [(f"{x}:{x < 3}", "valid") for x in range(6)]

    def dies_in_the_child(items):
        for x in items:
            if os.getpid() != parent:
                raise RuntimeError("the child fails")
            yield str(x), "valid"

    assert list(in_two(list(range(7)), dies_in_the_child)) == [(str(x), "valid") for x in range(7)]


def test_no_second_process_means_one_process_not_an_error(monkeypatch) -> None:
    from llm_modulo.cli._validate_batch import in_two

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    parent = os.getpid()
    rows = list(in_two(list(range(5)), lambda items: ((f"{x}:{os.getpid() == parent}", "valid") for x in items)))
    assert rows == [(f"{x}:True", "valid") for x in range(5)]


# -- the fast start -------------------------------------------------------------------------------
def test_the_fast_parser_knows_exactly_the_commands_options() -> None:
    from typer.main import get_command

    command = get_command(app).get_command(None, "validate")  # type: ignore[attr-defined]
    options = {o: not p.is_flag for p in command.params for o in p.opts if o.startswith("--")}
    assert options == OPTIONS
    assert parse_args(["d", "p", "x", "--help"]) is None and parse_args(["d", "p", "x", "--bogus"]) is None
    assert parse_args(["d", "p"]) is None and parse_args(["d", "p", "x", "--domain-name"]) is None
    kwargs = parse_args(["d", "--json", "p", "-", "--domain-name=blocksworld"])
    assert kwargs is not None and str(kwargs["plan"]) == "-" and kwargs["domain_name"] == "blocksworld"


@pytest.mark.parametrize(
    "plan, flags",
    [(SUSSMAN_GOLD, []), ("(pick-up zz)\n" * 3, []), ("[PLAN]\n", []), ("x\n" + SUSSMAN_GOLD, ["--lenient"])],
    ids=["valid", "invalid", "bad-input", "lenient"],
)
def test_the_fast_path_says_what_typer_says(tmp_path, monkeypatch, capsys, plan: str, flags: list[str]) -> None:
    path = tmp_path / "p.plan"
    path.write_text(plan)
    args = ["validate", DOMAIN, str(SUSSMAN), str(path), *flags]
    monkeypatch.setattr(sys, "argv", ["llm-modulo", *args])
    with pytest.raises(SystemExit) as done:
        main()
    fast = capsys.readouterr()
    slow = runner.invoke(app, args)
    assert (done.value.code, fast.out, fast.err) == (slow.exit_code, slow.stdout, slow.stderr)


def test_validate_imports_no_heavy_library(tmp_path) -> None:
    plan = tmp_path / "p.plan"
    plan.write_text(SUSSMAN_GOLD)
    code = (
        "import sys\n"
        "from llm_modulo.cli import main\n"
        f"sys.argv = ['llm-modulo', 'validate', {DOMAIN!r}, {str(SUSSMAN)!r}, {str(plan)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = {'unified_planning', 'torch', 'transformers', 'z3', 'numpy', 'pydantic', 'typer', 'rich', 'yaml'}\n"
        "print(code, sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout + done.stderr
