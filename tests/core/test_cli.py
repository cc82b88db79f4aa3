"""The command line: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_modulo.cli import app
from llm_modulo.domains.blocksworld import SUSSMAN, domain_file

runner = CliRunner()


SUSSMAN_ARGS = ["--domain", str(domain_file()), "--problem", str(SUSSMAN), "--model", "random"]


def _one_line_error(result) -> str:
    text = result.output.strip()
    assert "Traceback" not in text
    assert text.startswith("error:") and "\n" not in text, text
    return text


def test_validate_valid_and_invalid(tmp_path, sussman_plan_text):
    good = tmp_path / "good.plan"
    good.write_text(sussman_plan_text)
    # the fixture is a model's answer (sentences, [PLAN END]): --lenient reads it
    result = runner.invoke(app, ["validate", str(domain_file()), str(SUSSMAN), str(good), "--lenient"])
    assert result.exit_code == 0, result.output
    assert "Plan valid" in result.output
    bad = tmp_path / "bad.plan"
    bad.write_text("(pick-up a)\n")
    result = runner.invoke(app, ["validate", str(domain_file()), str(SUSSMAN), str(bad), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["valid"] is False and data["verdicts"][0]["violations"][0]["step"] == 1


def test_validate_missing_file_is_one_line(tmp_path):
    result = runner.invoke(app, ["validate", str(domain_file()), str(SUSSMAN), str(tmp_path / "nope.plan")])
    assert result.exit_code == 2
    assert "nope.plan" in _one_line_error(result)


def test_malformed_pddl_is_one_line(tmp_path, sussman_plan_text):
    broken = tmp_path / "broken.pddl"
    broken.write_text("(define (problem x) (:domain blocksworld-4ops) (:objects a b (:init")
    plan = tmp_path / "p.plan"
    plan.write_text(sussman_plan_text)
    result = runner.invoke(app, ["validate", str(domain_file()), str(broken), str(plan)])
    assert result.exit_code == 2
    assert "broken.pddl" in _one_line_error(result)


def test_unknown_instance_is_one_line():
    result = runner.invoke(app, ["solve", "--instance", "blocksworld/nowhere/instance-9", "--model", "random"])
    assert result.exit_code == 2
    assert "unknown instance" in _one_line_error(result)


def test_unknown_model_is_one_line():
    result = runner.invoke(app, ["solve", "--domain", str(domain_file()), "--problem", str(SUSSMAN), "--model", "nope"])
    assert result.exit_code == 2
    assert "unknown model" in _one_line_error(result)


@pytest.mark.parametrize("flag", ["--retry-excluded", "--remember-rejected", "--no-backprompt"])
def test_a_modulo_flag_outside_modulo_is_one_line(flag):
    result = runner.invoke(
        app,
        [
            "solve",
            *SUSSMAN_ARGS,
            "--strategy",
            "best-of-n",
            flag,
        ],
    )
    assert result.exit_code == 2
    assert f"{flag} is a modulo option" in _one_line_error(result)


MODULO_FLAGS = {
    "--retry-excluded": ("retry_excluded", True),
    "--remember-rejected": ("remember_rejected", True),
    "--no-backprompt": ("backprompt", False),
}


@pytest.mark.parametrize("flag", sorted(MODULO_FLAGS))
def test_a_modulo_flag_reaches_modulo(flag):
    result = runner.invoke(
        app,
        [
            "solve",
            *SUSSMAN_ARGS,
            flag,
            "--constrained",
            "executable",
            "--rounds",
            "2",
            "-n",
            "2",
            "--json",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    config = json.loads(result.output)["config"]
    for other, (key, value) in MODULO_FLAGS.items():
        assert config[key] is (value if other == flag else not value), other


def test_bad_budget_is_one_line():
    result = runner.invoke(
        app,
        [
            "solve",
            *SUSSMAN_ARGS,
            "--budget",
            "rounds=x",
        ],
    )
    assert result.exit_code == 2
    _one_line_error(result)


def test_solve_with_random_control_json():
    args = [
        "solve",
        *SUSSMAN_ARGS,
        "--budget",
        "rounds=40,samples=320",
        "--seed",
        "3",
        "--json",
    ]
    result = runner.invoke(app, args)
    data = json.loads(result.output)
    assert data["usage"]["samples"] <= 320
    assert result.exit_code == (0 if data["status"] == "verified" else 1)
    if data["status"] == "verified":
        assert data["certificate"][0]["status"] == "valid"
    again = json.loads(runner.invoke(app, args).output)
    assert again["status"] == data["status"] and again["answer"] == data["answer"]  # seeded: reproducible


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("solve", "validate", "demo"):
        assert command in result.output


@pytest.mark.parametrize("spec", ["openai:http://127.0.0.1:9/v1/some-model"])
def test_unreachable_server_is_one_line(spec):
    result = runner.invoke(
        app,
        ["solve", "--domain", str(domain_file()), "--problem", str(SUSSMAN), "--model", spec, "--budget", "rounds=1"],
    )
    assert result.exit_code == 2
    assert "127.0.0.1:9" in _one_line_error(result)


def test_make_data_writes_certified_training_records(tmp_path):
    import json as _json

    from typer.testing import CliRunner

    from llm_modulo.cli import app

    out = tmp_path / "data"
    result = CliRunner().invoke(app, ["make-data", "game24", "--out", str(out), "--count", "4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    records = [_json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["source"] == "imitation" for r in records)
    assert all(r["completion"].rstrip().endswith("[END]") for r in records)
    bad = CliRunner().invoke(app, ["make-data", "chess", "--out", str(out)])
    assert bad.exit_code == 2 and "no training-data generator" in bad.output


def test_prompt_format_auto_follows_what_an_adapter_was_trained_on():
    from llm_modulo.cli.solve import compact_prompts

    assert compact_prompts("auto", "smollm2-135m-planner") is True  # shipped, trained on compact prompts
    assert compact_prompts("auto", None) is False and compact_prompts("auto", "random") is False
    assert compact_prompts("full", "smollm2-135m-planner") is False
    assert compact_prompts("compact", "random") is True


@pytest.mark.parametrize("fmt, ok", [("compact", True), ("full", True), ("nope", False)])
def test_prompt_format_reaches_the_prompt(fmt, ok):
    result = runner.invoke(
        app,
        [
            "solve",
            *SUSSMAN_ARGS,
            "--prompt-format",
            fmt,
            "--rounds",
            "1",
            "-n",
            "1",
            "--json",
        ],
    )
    if not ok:
        assert result.exit_code == 2 and "unknown prompt format 'nope'" in _one_line_error(result)
        return
    assert result.exit_code in (0, 1), result.output
    first = json.loads(result.output)["trace"][0]["prompt"]  # the rendered prompt text
    assert first.startswith("[STATEMENT]") is (fmt == "compact")


def test_compact_prompts_on_a_domain_without_them_is_one_line():
    result = runner.invoke(
        app,
        [
            "solve",
            "--domain-name",
            "coloring",
            "--instance",
            "n10-p0.4-k3-s7",
            "--model",
            "random",
            "--prompt-format",
            "compact",
            "--rounds",
            "1",
        ],
    )
    assert result.exit_code == 2 and "no compact prompt" in _one_line_error(result)


@pytest.mark.parametrize("fmt", ["compact", "auto"])
def test_chain_of_thought_is_never_cut_from_a_compact_prompt(fmt, caplog):
    """Compact prompts are the statement alone: the CoT instruction before it would be cut while the
    parser still expects reasoning. Asked for, that is an error; chosen by auto, the full prompt is used."""
    args = ["solve", "--domain", str(domain_file()), "--problem", str(SUSSMAN), "--model", "smollm2-135m-planner" if fmt == "auto" else "random",
            "--prompt-format", fmt, "--cot", "--constrained", "none", "--rounds", "1", "-n", "1", "--json"]  # fmt: skip
    if fmt == "compact":
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "no chain-of-thought instruction" in _one_line_error(result)
        return
    from llm_modulo.cli.solve import with_compact_prompts
    from llm_modulo.registry import load_planning_task

    domain, task = load_planning_task(str(domain_file()), str(SUSSMAN), None, "nl", cot=True, one_shot=False)
    with caplog.at_level("WARNING", logger="llm_modulo.cli"):
        chosen = with_compact_prompts(domain, required=False)
    assert chosen is domain and "chain-of-thought" in caplog.text
    assert "Think step by step" in chosen.prompt(task).messages[0]["content"]


@pytest.mark.parametrize(("flags", "verbose"), [([], False), (["-v"], True)])
def test_train_verbose_turns_on_the_step_log(tmp_path, monkeypatch, flags, verbose):
    """Under nohup no progress bar shows: ``train -v`` is what makes its every-10th-step log visible."""
    from llm_modulo.cli import training as cli_training
    from llm_modulo.training import commands

    seen: list[bool] = []
    monkeypatch.setattr(cli_training, "setup_logging", seen.append)
    monkeypatch.setattr(commands, "train_adapter", lambda *a, **k: {"steps": 0})
    (tmp_path / "d.jsonl").write_text("{}\n")  # train checks that its data is a file before anything loads
    result = runner.invoke(app, ["train", str(tmp_path / "d.jsonl"), "--out", str(tmp_path / "a"), *flags])
    assert result.exit_code == 0, result.output
    assert seen == [verbose]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", *SUSSMAN_ARGS, "--feedback", "loud"], "'loud' is not one of"),
        (["solve", *SUSSMAN_ARGS, "--strategy", "nope"], "'nope' is not one of"),
        (["solve", *SUSSMAN_ARGS, "--no-constrained"], "No such option: --no-constrained"),
        (["solve", *SUSSMAN_ARGS, "-n", "0"], "'--n'"),
        (["solve", *SUSSMAN_ARGS, "--rounds", "-1"], "'--rounds'"),
        (
            ["solve", *SUSSMAN_ARGS, "--budget", "rounds=-1"],
            "bad budget rounds=-1: Input should be greater than or equal to 1",
        ),
        (["solve", *SUSSMAN_ARGS, "--budget", "turns=3"], "bad --budget item 'turns=3'"),
        (["solve", *SUSSMAN_ARGS, "--heuristic", "goal-count"], "--heuristic is a search option, not one of modulo"),
        (["solve", "--domain-name", "nope", "--instance", "1", "--model", "random"], "unknown domain 'nope'"),
        (["solve", "--domain", "nowhere.pddl", "--problem", str(SUSSMAN), "--model", "random"], "nowhere.pddl"),
        (["solve", "--model", "random"], "give --instance NAME"),
        (["bench"], "Missing argument"),
        (["bench", "nowhere.toml"], "nowhere.toml"),
        (["nosuchcommand"], "No such command"),
        (["improve", "chess"], "'chess' is not one of 'blocksworld', 'game24'"),
        (["improve", "--data", "bogus"], "'bogus' is not one of 'expert', 'imitation', 'both'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in _one_line_error(result)


def test_the_improve_choices_are_the_configs():
    """improve's typer choices are ImproveConfig's Literal values, neither more nor fewer."""
    from typing import get_args

    from llm_modulo.cli import training as cli_training
    from llm_modulo.training.improve import ImproveConfig

    choices = {
        "domain": cli_training.ImproveDomain,
        "data": cli_training.DataChoice,
        "sample_strategy": cli_training.SampleStrategyChoice,
        "expert_select": cli_training.ExpertSelectChoice,
    }
    for field, enum in choices.items():
        literal = ImproveConfig.model_fields[field].annotation
        assert [c.value for c in enum] == list(get_args(literal)), field


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--rounds", "0"], "--rounds"),
        (["--nodes", "0"], "--nodes"),
        (["--seconds", "-5"], "--seconds"),
        (["--budget", "samples=-1"], "samples"),
        (["--budget", "seconds=nan"], "seconds"),
        (["--budget", "seconds=0"], "seconds"),
        (["--budget", "rounds=1,rounds=2"], "given twice"),
        (["--budget", "round=3"], "bad --budget item"),
    ],
)
def test_a_budget_out_of_range_is_one_line(args, words):
    result = runner.invoke(app, ["solve", *SUSSMAN_ARGS, *args])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert words in _one_line_error(result)


def test_the_search_options_reach_search():
    result = runner.invoke(
        app,
        [
            "solve",
            *SUSSMAN_ARGS,
            "--strategy",
            "search",
            "--heuristic",
            "goal-count",
            "--queues",
            "dual",
            "--nodes",
            "2",
            "-n",
            "2",
            "--json",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    config = json.loads(result.output)["config"]
    assert config["heuristic"] == "goal-count" and config["queues"] == "dual"


@pytest.fixture
def broken_plugin(monkeypatch):
    """A third-party ``llm_modulo.domains`` entry point whose package does not import."""
    from importlib.metadata import EntryPoint

    from llm_modulo import registry

    broken = EntryPoint(name="broken", value="no_such_package_xyz.domain:factory", group="llm_modulo.domains")
    monkeypatch.setattr(registry, "_plugin_domains", lambda: {"broken": broken})


def test_a_broken_domain_plugin_is_one_line(broken_plugin):
    result = runner.invoke(app, ["solve", "--domain-name", "broken", "--instance", "1", "--model", "random"])
    assert result.exit_code == 2, result.output
    line = _one_line_error(result)
    assert "'broken'" in line and "no_such_package_xyz" in line and "ModuleNotFoundError" in line
    listed = runner.invoke(app, ["domains"])  # the others are still listed, the broken one marked
    assert listed.exit_code == 0 and "cannot load" in listed.output and "blocksworld" in listed.output


def test_the_module_runs_as_a_command(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "llm_modulo.cli", "solve", "--feedback", "loud"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.startswith("error:") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_bad_files_and_urls_are_one_line(tmp_path):
    not_text = tmp_path / "sweep.toml"
    not_text.write_bytes(b"\xff\xfe\x00 not utf-8")
    not_sqlite = tmp_path / "store.sqlite"
    not_sqlite.write_text("not a database")
    sweep = str(Path(__file__).resolve().parents[2] / "examples" / "tiny_sweep.toml")
    cases = [
        (["solve", *SUSSMAN_ARGS[:-1], "openai:http://[::1/v1/x"], "Invalid IPv6 URL"),
        (["bench", str(not_text)], "not a UTF-8 text file"),
        (["bench", sweep, "--store", str(not_sqlite)], "file is not a database"),
        (["bench", sweep, "--store", str(not_sqlite / "inside" / "x.sqlite")], "store"),
    ]
    for args, words in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert words in _one_line_error(result), args


def test_instance_with_domain_or_problem_is_one_line():
    for extra in (["--domain", str(domain_file())], ["--problem", str(SUSSMAN)], SUSSMAN_ARGS[:4]):
        result = runner.invoke(app, ["solve", "--instance", str(SUSSMAN), *extra, "--model", "random"])
        assert result.exit_code == 2 and "not both" in _one_line_error(result), extra


@pytest.mark.parametrize(
    ("files", "chosen"),
    [
        (["domain.pddl", "p01-domain.pddl", "a-domain.pddl"], "domain.pddl"),  # domain.pddl first
        (["a-domain.pddl", "p01-domain.pddl", "p02-domain.pddl"], "p01-domain.pddl"),  # then the one named so
        (["domain_p01.pddl", "domain_p02.pddl"], "domain_p01.pddl"),
        (["only-domain.pddl"], "only-domain.pddl"),  # then the only one
        (["up/domain.pddl"], "up/domain.pddl"),  # a folder with none: the one above
        (["a-domain.pddl", "b-domain.pddl"], "ambiguous"),
        (["up/a-domain.pddl", "up/b-domain.pddl"], "ambiguous"),
        ([], "none"),
    ],
)
def test_a_problem_file_s_domain_is_chosen_by_fixed_rules(tmp_path, files, chosen):
    from llm_modulo.domains.planning.instances import resolve_instance
    from llm_modulo.errors import InputError

    root = tmp_path / "up"
    (root / "problems").mkdir(parents=True)
    for name in files:
        (tmp_path / name if name.startswith("up/") else root / "problems" / name).write_text(domain_file().read_text())
    problem = root / "problems" / "p01.pddl"
    problem.write_text(SUSSMAN.read_text())
    if chosen in ("ambiguous", "none"):
        with pytest.raises(InputError, match="give it with --domain"):
            resolve_instance(str(problem))
        result = runner.invoke(app, ["solve", "--instance", str(problem), "--model", "random"])
        assert result.exit_code == 2 and "--domain D.pddl --problem P.pddl" in _one_line_error(result)
    else:
        found = resolve_instance(str(problem))[0]
        expected = tmp_path / chosen if chosen.startswith("up/") else root / "problems" / chosen
        assert found == expected.resolve()


def test_special_files_are_one_line(tmp_path):
    import os

    fifo = tmp_path / "pipe.pddl"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.pddl"
    empty.write_text("")
    huge = tmp_path / "huge.pddl"
    with huge.open("wb") as f:
        f.truncate(65 * 2**20)  # sparse: no disk used
    not_sqlite = tmp_path / "x.sqlite"
    not_sqlite.write_text("not a database")
    sweep = str(Path(__file__).resolve().parents[2] / "examples" / "tiny_sweep.toml")
    cases = [
        (["solve", "--domain", str(domain_file()), "--problem", str(fifo)], "is a named pipe"),
        (["solve", "--domain", str(tmp_path), "--problem", str(SUSSMAN)], "is a directory"),
        (["solve", "--domain", str(domain_file()), "--problem", os.devnull], "is a character device"),
        (["solve", "--domain", str(empty), "--problem", str(SUSSMAN)], "is empty"),
        (["solve", "--domain", str(huge), "--problem", str(SUSSMAN)], "is too large"),
        (["solve", "--instance", str(fifo)], "is a named pipe"),
        (["solve", "--instance", os.devnull], "is a character device"),
        (["solve", "--instance", str(tmp_path)], "is a directory"),
        (["solve", "--instance", ""], "--instance is empty"),
        (["bench", str(fifo)], "is a named pipe"),
        (["bench", os.devnull], "is a character device"),
        (["bench", str(empty)], "is empty"),
        (["bench", str(huge)], "is too large"),
        (["bench", sweep, "--store", str(tmp_path)], "is a directory"),
        (["bench", sweep, "--store", str(fifo)], "is a named pipe"),
        (["bench", sweep, "--store", str(not_sqlite), "--dry-run"], "file is not a database"),
        (["report", str(fifo)], "not a file"),
        (["report", os.devnull], "not a file"),
        (["train", str(fifo)], "is a named pipe"),
        (["train", str(empty)], "is empty"),
    ]
    for args, words in cases:
        result = runner.invoke(app, [*args, "--model", "random"] if args[0] == "solve" else args)
        assert result.exit_code == 2, (args, result.output)
        assert words in _one_line_error(result), args


def test_a_sweep_s_warnings_never_come_with_an_error(tmp_path):
    config = tmp_path / "twice.toml"
    config.write_text(
        'name = "twice"\nmodels = ["random"]\n[[budgets]]\nsamples = 2\n'
        '[[instance_sets]]\ndomain = "game24"\nset = "test"\ncount = 1\n'
        '[[strategies]]\nname = "direct"\n[[strategies]]\nname = "direct"\n'
    )
    bad = runner.invoke(app, ["bench", str(config), "--store", str(tmp_path)])  # the store is a folder
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "warning:" not in bad.stderr, bad.stderr
    dry = runner.invoke(app, ["bench", str(config), "--store", str(tmp_path / "s.sqlite"), "--dry-run"])
    assert dry.exit_code == 0 and dry.stderr.startswith("warning: 1 trial(s) repeat") and dry.stderr.count("\n") == 1


def test_one_time_work_is_said_without_verbose() -> None:
    """A first run converts or exports the model for tens of seconds: the CLI says so even when quiet."""
    import logging

    from llm_modulo.cli._common import ONCE_LOGGERS, setup_logging

    saved = {name: logging.getLogger(name).level for name in ONCE_LOGGERS}
    try:
        setup_logging(False)
        assert ONCE_LOGGERS and all(logging.getLogger(name).level == logging.INFO for name in ONCE_LOGGERS)
        assert logging.getLogger("llm_modulo.models.ort_local").level == logging.NOTSET  # the rest stays quiet
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
