"""Generated bad input to the CLI: whatever it is given, a command ends with exit 0, 1, 2 or 3, never a
traceback, and bad input (exit 2) is exactly one ``error: ...`` line on stderr.

``solve``, ``validate``, ``bench`` and ``report`` get junk option values (budgets, negative, huge and
non-finite numbers, unknown strategies, domains and models, unicode), files of random bytes, empty, not
UTF-8, truncated PDDL or mangled TOML, and paths that are folders, ``/dev/null``, named pipes or missing.
The model is always offline and instant (``random``, a scripted file, or an unknown name), and every
``solve`` has a 2-second budget. The commands run as subprocesses (the console's real streams, argv
bytes that are not UTF-8), a few per command, and in-process through CliRunner, more of them.
``validate``'s plan file and PDDL reading are only given readable files here (no pipes: the reader
opens what it is given).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from typer.testing import CliRunner

from llm_modulo.cli import app
from llm_modulo.domains.blocksworld import SUSSMAN, domain_file
from llm_modulo.types import Budget

REPO = Path(__file__).resolve().parents[2]
SWEEP = REPO / "examples" / "tiny_sweep.toml"
TEXTS = {"domain": domain_file().read_text(), "problem": SUSSMAN.read_text(), "sweep": SWEEP.read_text()}
PLAN = "(unstack c a)\n(put-down c)\n(pick-up b)\n(stack b c)\n(pick-up a)\n(stack a b)\n"

# -- generated values ------------------------------------------------------------------------------

junk = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
number = st.one_of(
    st.integers(1, 16).map(str),  # a fair value, so that a case with one bad value gets past the others
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-0", "0x1F", "", " 7 ", "1_000", "٣", "none"]),
    junk,
)
budget = st.lists(
    st.tuples(
        st.sampled_from([*Budget.model_fields, "round", "Samples", ""]),
        st.sampled_from(["=", "", "=="]),
        number,
    ),
    max_size=4,
).map(lambda items: ",".join(k + sep + v for k, sep, v in items))


def _name(choices: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(choices), st.sampled_from(choices), junk)  # mostly a known name


def _toml(items: dict[str, Any]) -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in items.items())  # JSON scalars and lists are TOML


_sweep_keys = st.sampled_from(["name", "models", "seeds", "feedback", "budgets", "description", "x"])
_toml_value = st.recursive(
    st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=8), st.booleans(), st.floats(allow_nan=False)),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)


def _cut(text: str) -> st.SearchStrategy[bytes]:
    return st.integers(0, len(text)).map(lambda n: text[:n].encode())


def _mangled(text: str) -> st.SearchStrategy[bytes]:
    """``text`` with one line replaced by junk."""
    lines = text.splitlines()
    return st.tuples(st.integers(0, len(lines) - 1), junk).map(
        lambda cut: "\n".join([*lines[: cut[0]], cut[1], *lines[cut[0] + 1 :]]).encode()
    )


contents = st.one_of(
    st.binary(max_size=300),
    st.just(b""),
    _cut(TEXTS["domain"]),
    _cut(TEXTS["problem"]),
    _mangled(TEXTS["problem"]),
    _mangled(TEXTS["sweep"]),
    st.dictionaries(_sweep_keys, _toml_value, max_size=4).map(lambda d: _toml(d).encode()),
    st.sampled_from(list(TEXTS.values())).map(lambda t: t.encode("utf-16")),
    st.sampled_from(["é" * 3, "(define", "\ufeff(define (problem p) (:domain blocksworld))"]).map(
        lambda t: t.encode("latin-1", "replace")
    ),
)


def _file(good: str | None, special: bool) -> st.SearchStrategy[tuple[str, Any]]:
    """A path spec: the good file, given bytes, or a missing path / folder / /dev/null / named pipe."""
    kinds = ["missing", "dir", "devnull", "long name", *(["fifo"] if special else [])]
    options = [st.tuples(st.just("bytes"), contents), st.tuples(st.sampled_from(kinds), st.none())]
    if good is not None:
        options.insert(0, st.just(("good", good)))
    return st.one_of(*options)


def _place(folder: Path, name: str, spec: tuple[str, Any]) -> str:
    kind, value = spec
    path = folder / name
    if kind == "good":
        path.write_text(value)
    elif kind == "bytes":
        path.write_bytes(value)
    elif kind == "dir":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "devnull":
        return os.devnull
    elif kind == "long name":  # longer than a file name may be
        return str(folder / ("x" * 300) / name)
    return str(path)


def _options(table: dict[str, st.SearchStrategy[str]], flags: list[str]) -> st.SearchStrategy[list[str]]:
    """Some of ``table``'s options with generated values, and some of ``flags``, in any order."""
    pairs = st.lists(st.sampled_from(sorted(table)).flatmap(lambda o: table[o].map(lambda v: [o, v])), max_size=4)
    switches = st.lists(st.sampled_from(flags).map(lambda f: [f]), max_size=2)
    return st.tuples(pairs, switches).map(lambda ps: [a for part in ps[0] + ps[1] for a in part])


SOLVE_OPTIONS = {
    "--strategy": _name(["modulo", "direct", "best-of-n", "search", "self-consistency", "self-critique"]),
    "--feedback": _name(["none", "binary", "first", "all"]),
    "--constrained": _name(["auto", "none", "well-formed", "executable"]),
    "--domain-name": _name(["blocksworld", "logistics", "pddl", "game24", "coloring", "code"]),
    "--budget": budget,
    "--rounds": number,
    "--samples": number,
    "--tokens": number,
    "--nodes": number,
    "--seconds": st.one_of(junk, st.floats(-1, 2).map(repr)),  # never more than 2 s: a case runs for that long
    "-n": number,
    "--temperature": number,
    "--max-tokens": number,
    "--seed": number,
    "--heuristic": _name(["relaxed-plan", "goal-count", "none"]),
    "--queues": _name(["single", "dual"]),
    "--prompt-format": _name(["auto", "compact", "full"]),
    "--style": _name(["nl", "pddl"]),
}
SOLVE_FLAGS = ["--cot", "--zero-shot", "--history", "--json", "--reuse-prefix", "--retry-excluded", "--no-backprompt"]
INSTANCES = ["blocksworld/generated_basic_3/instance-1", "planbench/logistics/generated_basic/instance-1", "901"]
INSTANCES += ["4 4 4 4", "/", ".", "..", "nowhere/x", "", " "]
# an offline model that answers at once, or one that does not exist: never the embedded default
models = st.one_of(st.sampled_from(["random", "nosuch-model", "scripted:"]), junk.map(lambda s: "zz-" + s))
DOMAIN_FILES = ["domain.pddl", "p01-domain.pddl", "a-domain.pddl", "domain_p01.pddl"]


@st.composite
def solve_case(draw: st.DrawFn, special: bool) -> Callable[[Path], list[str]]:
    """A ``solve`` command line, made in a folder when it is run."""
    how = draw(st.sampled_from(["files", "instance-file", "instance-name", "both"]))
    domain, problem = draw(_file(TEXTS["domain"], special)), draw(_file(TEXTS["problem"], special))
    domains = draw(st.lists(st.sampled_from(DOMAIN_FILES), unique=True, max_size=3))
    above = draw(st.booleans())  # the domain files beside the problem, or in the folder above
    name = draw(st.one_of(st.sampled_from(INSTANCES), junk))
    model, script = draw(models), draw(st.one_of(st.none(), contents))
    options = draw(_options(SOLVE_OPTIONS, SOLVE_FLAGS))

    def make(folder: Path) -> list[str]:
        if model == "scripted:":
            script_file = _place(folder, "script.json", ("bytes", script) if script is not None else ("missing", None))
            spec = model + script_file
        else:
            spec = model
        args = ["solve", "--seconds", "2", "--model", spec]
        if how in ("files", "both"):
            args += ["--domain", _place(folder, "d.pddl", domain), "--problem", _place(folder, "p.pddl", problem)]
        if how == "instance-file" or how == "both":
            (folder / "problems").mkdir()  # the folder above is this case's too, not the shared temp folder
            for d in domains:
                (folder / ("" if above else "problems") / d).write_text(TEXTS["domain"])
            args += ["--instance", _place(folder / "problems", "p01.pddl", problem)]
        if how == "instance-name":
            args += ["--instance", name]
        return args + options

    return make


@st.composite
def validate_case(draw: st.DrawFn) -> Callable[[Path], list[str]]:
    # the PDDL files may be pipes nobody writes (refused); the plan may not (a pipe is a legal plan source)
    domain, problem = draw(_file(TEXTS["domain"], True)), draw(_file(TEXTS["problem"], True))
    plan = draw(st.one_of(st.just(("good", PLAN)), st.just(("missing", None)), st.tuples(st.just("bytes"), contents)))
    options = draw(_options({"--domain-name": SOLVE_OPTIONS["--domain-name"]}, ["--json"]))

    def make(folder: Path) -> list[str]:
        files = [_place(folder, n, s) for n, s in (("d.pddl", domain), ("p.pddl", problem), ("x.plan", plan))]
        return ["validate", *files, *options]

    return make


BENCH_OPTIONS = {
    "--workers": number,
    "--threads": number,
    "--batch": number,
    "--limit": number,
    "--executor": _name(["local"]),  # not ray: it would start a cluster
    "--device": _name(["cpu", "cuda"]),
}


@st.composite
def bench_case(draw: st.DrawFn, special: bool) -> Callable[[Path], list[str]]:
    config = draw(st.one_of(st.just(("good", TEXTS["sweep"])), _file(None, special)))
    store = draw(st.one_of(st.none(), st.just(("missing", None)), _file(None, special)))
    cache = draw(st.one_of(st.none(), _file(None, special)))
    options = draw(_options(BENCH_OPTIONS, ["--no-cache", "--retry-errors", "-v"]))
    dry = draw(st.booleans())

    def make(folder: Path) -> list[str]:
        args = ["bench", _place(folder, "sweep.toml", config)]
        if store is not None:
            args += ["--store", _place(folder, "store.sqlite", store)]
        if cache is not None:
            args += ["--cache", _place(folder, "cache.sqlite", cache)]
        # a sweep that runs: at most one trial, in this process, so a case stays short
        return args + options + (["--dry-run"] if dry else ["--limit", "1", "--workers", "1"])

    return make


@st.composite
def report_case(draw: st.DrawFn, special: bool, real_store: Path) -> Callable[[Path], list[str]]:
    store = draw(st.one_of(st.just(("real", None)), _file(None, special)))
    out = draw(st.sampled_from(["fresh", "file", "devnull", "inside-a-file"]))
    options = draw(_options({"--sweep": _name(["tiny"]), "--format": _name(["md"])}, ["--no-csv", "--no-parquet"]))

    def make(folder: Path) -> list[str]:
        path = str(real_store) if store[0] == "real" else _place(folder, "store.sqlite", store)
        (folder / "afile").write_text("x")
        where = {"fresh": folder / "out", "file": folder / "afile", "devnull": Path(os.devnull)}
        return ["report", path, "--out", str(where.get(out, folder / "afile" / "out")), *options]

    return make


# -- running them ----------------------------------------------------------------------------------


def check(args: list[str], code: int, stderr: str) -> None:
    shown = f"args={args!r}\nexit {code}\nstderr:\n{stderr}"
    with contextlib.suppress(InvalidArgument):  # outside a @given test there is nothing to record
        event(f"{args[0]}: exit {code}")  # --hypothesis-show-statistics: how far the cases got
    assert code in (0, 1, 2, 3), shown
    assert "Traceback" not in stderr, shown
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), shown


def run_subprocess(make: Callable[[Path], list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args = make(Path(tmp))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "llm_modulo.cli", *args],
                cwd=tmp,
                capture_output=True,
                timeout=90,
                env={**os.environ, "COLUMNS": "100"},
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"hangs: {args!r}")
        check(args, done.returncode, done.stderr.decode("utf-8", "replace"))


def run_in_process(make: Callable[[Path], list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args = make(Path(tmp))
        cwd = os.getcwd()
        os.chdir(tmp)  # bench's default store (runs/) lands here
        try:
            result = CliRunner().invoke(app, args, catch_exceptions=False)
        finally:
            os.chdir(cwd)
        check(args, result.exit_code, result.stderr)


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trial store with two trials of the tiny sweep."""
    store = tmp_path_factory.mktemp("store") / "tiny.sqlite"
    result = CliRunner().invoke(app, ["bench", str(SWEEP), "--store", str(store), "--workers", "1", "--limit", "2"])
    assert result.exit_code == 0, result.output
    return store


# Subprocesses cost 1.5-3 s each on a small machine: a few per command.
FEW = settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
# In-process a case costs 0.05-2 s (a solve that runs spends up to its 2 s budget).
MANY = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@FEW
@given(solve_case(special=True))
def test_solve_as_a_process(make: Callable[[Path], list[str]]) -> None:
    run_subprocess(make)


@FEW
@given(validate_case())
def test_validate_as_a_process(make: Callable[[Path], list[str]]) -> None:
    run_subprocess(make)


@FEW
@given(bench_case(special=True))
def test_bench_as_a_process(make: Callable[[Path], list[str]]) -> None:
    run_subprocess(make)


@FEW
@given(st.data())
def test_report_as_a_process(real_store: Path, data: st.DataObject) -> None:
    run_subprocess(data.draw(report_case(special=True, real_store=real_store)))


def test_argv_that_is_not_utf8_is_one_line() -> None:
    raw = os.fsdecode(b"\xff\xfe-nope")
    for args in (["solve", "--instance", raw, "--model", "random"], ["bench", raw], ["report", raw]):
        run_subprocess(lambda folder, args=args: args)


@MANY
@given(solve_case(special=False))
def test_solve_in_process(make: Callable[[Path], list[str]]) -> None:
    run_in_process(make)


@MANY
@given(bench_case(special=False))
def test_bench_in_process(make: Callable[[Path], list[str]]) -> None:
    run_in_process(make)


@settings(MANY, max_examples=20)  # a report that gets written draws its figures: up to 1.5 s
@given(st.data())
def test_report_in_process(real_store: Path, data: st.DataObject) -> None:
    run_in_process(data.draw(report_case(special=False, real_store=real_store)))
