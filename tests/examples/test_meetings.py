"""The example domain of docs/domains-and-critics.md (examples/meetings), used as a user would use
their own: installed as a package (``make install`` runs ``pip install -e examples/meetings``),
found through its ``llm_modulo.domains`` entry point, and run through solve, a strategy, bench and report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_modulo import Modulo, ScriptedModel, VerdictStatus
from llm_modulo.cli import app
from llm_modulo.feedback import domain_critique
from llm_modulo.registry import domain_names, get_domain, load_task
from llm_modulo.strategies.base import judge

REPO = Path(__file__).resolve().parents[2]
SWEEP = REPO / "examples" / "meetings" / "sweep.toml"
# m3-s0: Demo (2 h) and Planning (2 h) with Ben and Chen, Review (1 h) with Chen and Dee;
# busy: Ben 9, 11; Chen 9, 10; Dee 11, 13
RIGHT = "Demo: 12\nPlanning: 14\nReview: 16\n[END]"
WRONG = "Demo: 16\nPlanning: 10\nReview: 11\n[END]"


@pytest.fixture(scope="module")
def domain():
    assert "meetings" in domain_names(), "the example domain is not installed: pip install -e examples/meetings"
    return get_domain("meetings")


def test_found_through_its_entry_point(domain):
    from importlib.metadata import entry_points

    (entry,) = [ep for ep in entry_points(group="llm_modulo.domains") if ep.name == "meetings"]
    assert entry.value == "llm_modulo_meetings:meetings"
    assert type(domain).__module__ == "llm_modulo_meetings.domain"
    chosen, task = load_task("m3-s0", "meetings")
    assert task.id == "m3-s0" and set(task.payload.hours) == {"Demo", "Planning", "Review"}
    assert chosen.instances("small") == ["m2-s0", "m3-s0", "m3-s1", "m4-s0"]


def test_instances_are_deterministic_and_solvable(domain):
    for name in [*domain.instances("small"), "m8-s3", "m5-s11"]:
        task = domain.load(name)
        assert task.payload == domain.load(name).payload
        z3_critic = domain.critics(task)[0]
        assert z3_critic.refute(task) is None  # z3 finds no proof of unsolvability
        answer = z3_critic.reference(task)
        text = "".join(f"{n}: {h}\n" for n, h in answer)
        assert judge(domain, task, text)[1][0].status is VerdictStatus.VALID


def test_solve_with_the_random_proposer_certifies_a_schedule():
    res = CliRunner().invoke(
        app,
        [
            "solve",
            "--domain-name",
            "meetings",
            "--instance",
            "m3-s0",
            "--model",
            "random",
            "--strategy",
            "best-of-n",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert result["status"] == "verified"
    assert [v["critic"] for v in result["certificate"]] == ["z3"]
    assert {n for n, _ in result["answer"]} == {"Demo", "Planning", "Review"}


def test_a_wrong_schedule_gets_the_domain_s_violations_and_words(domain):
    task = domain.load("m3-s0")
    candidate, verdicts = judge(domain, task, WRONG)
    hard, soft = verdicts
    assert (hard.critic, hard.hard, soft.critic, soft.hard) == ("z3", True, "finish-early", False)
    assert [(v.kind, v.step) for v in hard.violations] == [
        ("outside_day", 1),
        ("busy", 2),
        ("busy", 2),
        ("busy", 3),
        ("double_booked", 3),
    ]
    assert [(v.kind, v.step) for v in soft.violations] == [("late", 1)]
    first = domain_critique(domain, task, candidate, verdicts, "first")
    assert first == (
        "The schedule is not valid. Demo (16:00-18:00) is outside the working day, 9:00-17:00. "
        "Advice: Demo ends after 16:00; people prefer to finish by then."
    )
    every = domain_critique(domain, task, candidate, verdicts, "all")
    assert "Ben is busy at 11:00, during Planning (10:00-12:00). Chen is busy at 10:00, during" in every
    assert "Dee is busy at 11:00, during Review (11:00-12:00)." in every
    assert "Planning (10:00-12:00) and Review (11:00-12:00) overlap, and Chen must attend both." in every
    assert domain_critique(domain, task, candidate, verdicts, "binary") == "The schedule is not valid."
    missing = judge(domain, task, "Demo: 12\nDemo: 14\n[END]")[1][0].violations
    assert [(v.kind, v.step) for v in missing] == [("unknown_meeting", 2), ("missing", None), ("missing", None)]


def test_modulo_feeds_the_critique_back_and_certifies_the_repair(domain):
    task = domain.load("m3-s0")
    model = ScriptedModel([WRONG, RIGHT])
    result = Modulo(model, domain, n=1, constrained="none", feedback="all").run(task)
    assert result.verified and result.answer == [["Demo", 12], ["Planning", 14], ["Review", 16]]
    second = model.prompts[1].messages
    assert second[1]["content"] == WRONG
    assert "The schedule is not valid. Demo (16:00-18:00) is outside the working day" in second[2]["content"]
    assert second[2]["content"].endswith("Please give a corrected schedule.")


def test_the_executable_grammar_offers_only_hours_that_fit(domain):
    task = domain.load("m3-s0")
    assert domain.constraint(task, executable=True).choices(("Demo: 12",))[0] == ["Planning: 14", "Planning: 15"]
    assert len(domain.constraint(task).choices(("Demo: 12",))[0]) == 8  # well-formed: any hour of the day


def test_bench_and_report(tmp_path):
    store = tmp_path / "meetings.sqlite"
    runner = CliRunner()
    res = runner.invoke(app, ["bench", str(SWEEP), "--store", str(store), "--workers", "1", "--no-cache"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", str(store), "--out", str(tmp_path / "report"), "--no-parquet"])
    assert res.exit_code == 0, res.output
    report = (tmp_path / "report" / "report.md").read_text()
    for arm in ("best-of-n", "modulo", "modulo-executable"):
        assert arm in report


def _doc_blocks() -> list[tuple[str, str]]:
    """(language, text) of each fenced block in the doc's "Writing your own domain" section."""
    doc = (REPO / "docs" / "domains-and-critics.md").read_text()
    section = doc.split("## Writing your own domain", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(\w+)\n(.*?)^```", section, re.M | re.S)


def test_the_doc_quotes_the_real_files():
    quoted = [(lang, text) for lang, text in _doc_blocks() if text.startswith("# examples/meetings/")]
    assert len(quoted) >= 6
    for _, text in quoted:
        header, body = text.split("\n", 1)
        source = (REPO / header[2:].strip()).read_text()
        for part in re.split(r"^\s*\.\.\.\n", body, flags=re.M):  # "..." marks a cut
            assert part.strip("\n") in source, f"not in {header[2:]}:\n{part}"


def test_the_doc_s_python_snippet_runs(capsys):
    (snippet,) = [text for lang, text in _doc_blocks() if lang == "python" and not text.startswith("#")]
    exec(compile(snippet, "docs/domains-and-critics.md", "exec"), {})
    assert capsys.readouterr().out.startswith("verified [[")
