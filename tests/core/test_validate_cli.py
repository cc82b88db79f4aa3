"""``llm-modulo validate``: strict plan files by default, ``--lenient`` model answers, bad input as one line.

The tester's files of issue 21 are built from PlanBench's blocksworld instance-162 (b on c, a on d;
goal a on d, b on a, c on b) and its ``ground_truth_plan``, which names the blocks by colour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_modulo.cli import app
from llm_modulo.domains.blocksworld import SUSSMAN, domain_file

runner = CliRunner()

GOLD = "(unstack b c)\n(stack b a)\n(pick-up c)\n(stack c b)\n"  # instance-162's plan in PDDL names
SUSSMAN_GOLD = "(unstack c a)\n(put-down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)\n"


@pytest.fixture(scope="module")
def instance(planbench: Path) -> tuple[str, str, str]:
    """(domain file, problem file, PlanBench's ground_truth_plan) of blocksworld instance-162."""
    prompts = json.loads((planbench / "prompts/blocksworld/task_1_plan_generation.json").read_text())
    colour = next(i["ground_truth_plan"] for i in prompts["instances"] if i["instance_id"] == 162)
    folder = planbench / "blocksworld"
    return str(folder / "generated_domain.pddl"), str(folder / "generated_basic/instance-162.pddl"), colour


def run(args: list[str], stdin: str | bytes | None = None):
    return runner.invoke(app, ["validate", *args], input=stdin)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert "Traceback" not in result.output and text.startswith("error:") and "\n" not in text, result.output
    return text


def plan_file(tmp_path: Path, content: str | bytes, name: str = "p.plan") -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def sussman(plan: str, *flags: str) -> list[str]:
    return [str(domain_file()), str(SUSSMAN), plan, *flags]


# -- the tester's cases ----------------------------------------------------------------------------
def test_steps_before_a_plan_marker_are_not_dropped(tmp_path, instance) -> None:
    domain, problem, _ = instance
    plan = plan_file(tmp_path, "(pick-up a)\n(stack a a)\n[PLAN]\n" + GOLD)
    # before: "Plan valid (4 steps)", exit 0
    assert "plan line 3: not a PDDL step: '[PLAN]'" in one_line_error(run([domain, problem, plan]))
    lenient = run([domain, problem, plan, "--lenient"])  # the loop's reading: the preamble is reported
    assert lenient.exit_code == 0 and "Plan valid (4 steps)" in lenient.stdout
    assert "skipped 2 lines: line 1: '(pick-up a)', line 2: '(stack a a)'" in lenient.stderr


def test_a_line_starting_plan_end_does_not_end_the_plan(tmp_path, instance) -> None:
    domain, problem, _ = instance
    plan = plan_file(tmp_path, GOLD + "Plan ending here, next:\n(stack a a)\n")
    assert "plan line 5" in one_line_error(run([domain, problem, plan]))  # before: valid, exit 0
    lenient = run([domain, problem, plan, "--lenient"])
    assert lenient.exit_code == 1 and "unknown action plan ending here" in lenient.stdout


def test_colour_names_are_unknown_objects_in_strict_mode(tmp_path, instance) -> None:
    domain, problem, colour = instance
    assert colour.startswith("(unstack blue orange)")
    plan = plan_file(tmp_path, colour)
    strict = run([domain, problem, plan])  # before: valid, exit 0
    assert strict.exit_code == 1 and "step 1 (unstack blue orange): unknown object blue, orange" in strict.stdout
    assert run([domain, problem, plan, "--lenient"]).exit_code == 0  # PlanBench's names, as the loop reads them


@pytest.mark.parametrize(
    "content",
    [
        GOLD + "; cost = 4 (unit cost)\n",  # Fast Downward's sas_plan
        GOLD.replace("(unstack b c)", "(unstack b c) ; first"),
        "0: (unstack b c) [1]\n1: (stack b a) [1]\n2: (pick-up c) [1]\n3: (stack c b) [1]\n",
        "0.001: (unstack b c) [1.000]\n1.002: (stack b a) [1.000]\n2.003: (pick-up c) [1.000]\n3.004: (stack c b) [1.000]\n",
    ],
    ids=["sas_plan", "trailing-comment", "val-timed", "val-decimal"],
)
def test_standard_plan_files_are_valid(tmp_path, instance, content: str) -> None:
    domain, problem, _ = instance
    result = run([domain, problem, plan_file(tmp_path, content)])  # before: "unknown action", exit 1
    assert result.exit_code == 0 and "Plan valid (4 steps)" in result.stdout, result.output


# -- how the file is read --------------------------------------------------------------------------
def test_not_utf8_is_one_line(tmp_path) -> None:
    plan = plan_file(tmp_path, (SUSSMAN_GOLD + "; café\n").encode("latin-1"))
    assert "is not UTF-8 text (byte 0xe9" in one_line_error(run(sussman(plan)))  # before: a traceback, exit 1


def test_binary_is_one_line(tmp_path) -> None:
    assert "NUL bytes" in one_line_error(run(sussman(plan_file(tmp_path, b"(pick-up a)\n\x00\x01\x02"))))
    assert "not UTF-8" in one_line_error(run(sussman(plan_file(tmp_path, bytes(range(128, 256))))))


def test_utf16_with_bom_is_read(tmp_path) -> None:
    result = run(sussman(plan_file(tmp_path, SUSSMAN_GOLD.encode("utf-16"))))
    assert result.exit_code == 0 and "Plan valid (6 steps)" in result.stdout


def test_stdin_dev_null_and_directory(tmp_path) -> None:
    piped = run(sussman("-"), stdin=SUSSMAN_GOLD)  # before: "plan file not found: -"
    assert piped.exit_code == 0 and "Plan valid (6 steps)" in piped.stdout
    empty = run(sussman(os.devnull))  # before: "plan file not found"; now an empty plan
    assert empty.exit_code == 1 and "empty plan" in empty.stdout
    assert "is a directory" in one_line_error(run(sussman(str(tmp_path))))
    assert "not found" in one_line_error(run(sussman(str(tmp_path / "nope.plan"))))
    assert "too large" in one_line_error(run(sussman("/dev/zero")))  # read up to a limit, not forever


def test_pddl_files_that_are_pipes_are_one_line(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "domain file" in one_line_error(run([str(fifo), str(SUSSMAN), plan_file(tmp_path, SUSSMAN_GOLD)]))
    assert "named pipe" in one_line_error(run([str(domain_file()), str(fifo), plan_file(tmp_path, SUSSMAN_GOLD)]))


def test_unreadable_file_is_one_line(tmp_path, monkeypatch) -> None:
    plan = plan_file(tmp_path, SUSSMAN_GOLD)

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)  # chmod 0 does not stop root
    assert "cannot read plan file" in one_line_error(run(sussman(plan)))


# -- lenient reports, output size ------------------------------------------------------------------
def test_lenient_json_lists_the_skipped_lines(tmp_path) -> None:
    answer = "Here is my plan.\n[PLAN]\n" + SUSSMAN_GOLD.replace("(", "1. (", 1) + "[PLAN END]\nDone!\n"
    result = run(sussman(plan_file(tmp_path, answer), "--lenient", "--json"))
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["valid"] and data["steps"] == 6
    assert data["skipped"] == [{"line": 1, "text": "Here is my plan."}, {"line": 10, "text": "Done!"}]
    assert "skipped" not in json.loads(run(sussman(plan_file(tmp_path, SUSSMAN_GOLD), "--json")).stdout)


def test_a_5mb_one_token_plan_is_quick_and_short(tmp_path) -> None:
    plan = plan_file(tmp_path, "x" * 5_000_000)
    start = time.perf_counter()
    strict = run(sussman(plan))
    lenient = run(sussman(plan, "--lenient"))
    assert time.perf_counter() - start < 10  # before: about a minute, printing the token twice
    assert "4999940 more characters" in one_line_error(strict)
    assert lenient.exit_code == 1 and len(lenient.output) < 1000 and "(5000000 chars)" in lenient.stdout


def test_many_violations_are_listed_up_to_a_limit(tmp_path) -> None:
    result = run(sussman(plan_file(tmp_path, "(pick-up zz)\n" * 150)))
    assert result.exit_code == 1 and result.stdout.count("unknown object zz") == 100
    assert "... and 51 more (--json lists them all)" in result.stdout  # 150 steps and the unmet goal


# -- exit codes from a real process --------------------------------------------------------------
def _cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "llm_modulo.cli", "validate", *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=120, check=False)


def test_process_exit_codes(tmp_path) -> None:
    bad = plan_file(tmp_path, b"\xff\xfe\x00(")  # a UTF-16 BOM, then an odd byte count
    done = _cli(*sussman(bad))
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr
    assert _cli(*sussman("-"), stdin=SUSSMAN_GOLD.encode()).returncode == 0
