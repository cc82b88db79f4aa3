"""The project's own PDDL reader against unified-planning's: the same lifted model on every PDDL
file of the repository and a sample of the shared benchmarks, and on mutated files (renamed,
recased, commented, shuffled, with empty sections, with a parenthesis dropped); Tarski-style
files; one-line errors; size limits; the lazy ``up_problem``."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plan_fixtures import BLOCKS_DOMAIN, SUSSMAN_PROBLEM, TINY_DOMAIN, TINY_PROBLEM

from llm_modulo.errors import PDDLError
from llm_modulo.verifiers.planning import _fragment, _parse, load_problem, parse_pddl_plan, up_validate, validate
from llm_modulo.verifiers.planning._lift import Lifted, lift
from llm_modulo.verifiers.planning._parse import Sources, parse_up, read_sources
from llm_modulo.verifiers.planning._reader import ReadPDDL, read_pddl

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "benchmarks"
FIXTURES = REPO / "tests" / "fixtures" / "planning"
TARSKI = FIXTURES / "tarski"
FIELDS = ("types", "objects", "predicates", "schemas", "init", "goal", "unsupported")


def _domain_for(problem: Path, root: Path) -> Path | None:
    """``domain.pddl`` or the first ``*domain*.pddl`` in the problem's folder or above it (as sweeps look)."""
    for folder in [problem.parent, *problem.parent.parents]:
        if (folder / "domain.pddl").is_file():
            return folder / "domain.pddl"
        found = sorted(folder.glob("*domain*.pddl"))
        if found:
            return found[0]
        if folder == root:
            return None
    return None


def _pairs(root: Path, per_folder: int | None) -> list[tuple[Path, Path]]:
    """(domain, problem) for the problems under ``root``; ``per_folder`` evenly spaced ones per folder."""
    by_folder: dict[Path, list[Path]] = {}
    for path in sorted(root.glob("**/*.pddl")):
        if "domain" not in path.name and ".venv" not in path.parts:
            by_folder.setdefault(path.parent, []).append(path)
    pairs = []
    for files in by_folder.values():
        chosen = files if per_folder is None else files[:: max(1, len(files) // per_folder)][:per_folder]
        pairs += [(d, p) for p in chosen if (d := _domain_for(p, root)) is not None]
    return pairs


CORPUS = [
    *_pairs(REPO / "llm_modulo", None),
    *_pairs(FIXTURES, None),
    *(_pairs(SHARED / "planbench", 3) if SHARED.is_dir() else []),
]


def _both(src: Sources) -> tuple[ReadPDDL, Lifted]:
    return read_pddl(src.domain_text, src.domain_label, src.problem_text, src.problem_label), lift(
        parse_up(src).up_problem
    )


def _assert_same(own: Lifted, up: Lifted) -> None:
    for name in FIELDS:
        assert getattr(own, name) == getattr(up, name), name
    assert list(own.objects) == list(up.objects)  # declaration order: constants, then objects


def test_the_corpus_covers_every_source() -> None:
    folders = {p.parent for _, p in CORPUS}
    assert any("blocksworld" in str(f) for f in folders) and any("tarski" in str(f) for f in folders)
    assert len(CORPUS) >= 10


@pytest.mark.parametrize(("domain", "problem"), CORPUS, ids=lambda p: "/".join(Path(p).parts[-3:]))
def test_own_reader_matches_unified_planning(domain: Path, problem: Path) -> None:
    src = read_sources(domain, problem)
    own, up = _both(src)
    _assert_same(own.lifted, up)
    loaded = load_problem(domain, problem)
    assert loaded._up_problem is None and loaded.supported  # read without unified-planning


# ---------------------------------------------------------------- mutated files

GRIPPER = (FIXTURES / "gripper_domain.pddl").read_text(), (FIXTURES / "gripper_problem.pddl").read_text()
BASES = [
    (BLOCKS_DOMAIN, SUSSMAN_PROBLEM),
    (TINY_DOMAIN, TINY_PROBLEM),
    GRIPPER,
    ((TARSKI / "gripper" / "domain.pddl").read_text(), (TARSKI / "gripper" / "instance-1.pddl").read_text()),
]
_SYMBOL = re.compile(r"[^\s();]+")
_KEYWORDS = {"define", "domain", "problem", "and", "not", "either", "object", "-", "="}
MUTATION = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def _rename(text: str, mapping: dict[str, str]) -> str:
    return _SYMBOL.sub(lambda m: mapping.get(m.group(0).lower(), m.group(0)), text)


def _top_level(text: str) -> tuple[int, list[tuple[int, int]]]:
    """(end of the header, spans of the sections) of a ``(define (kind name) ...)`` text."""
    spans, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == ";":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if c == "(":
            depth += 1
            if depth == 2:
                start = i
        elif c == ")":
            if depth == 2:
                spans.append((start, i + 1))
            depth -= 1
        i += 1
    return spans[0][1], spans[1:]


def _shuffle_sections(text: str, rng: random.Random) -> str:
    header_end, spans = _top_level(text)
    sections = [text[a:b] for a, b in spans]
    rng.shuffle(sections)
    return text[:header_end] + "\n" + "\n".join(sections) + "\n)\n"


@given(base=st.sampled_from(BASES), seed=st.integers(0, 2**32 - 1))
@MUTATION
def test_renamed_recased_commented_files_read_alike(base: tuple[str, str], seed: int) -> None:
    rng = random.Random(seed)
    domain, problem = (re.sub(r";[^\n]*", "", text) for text in base)  # the noise adds comments of its own
    names = {s.lower() for s in _SYMBOL.findall(domain + problem) if not s.startswith(":") and ";" not in s}
    names -= _KEYWORDS
    mapping = {n: ("?v" if n.startswith("?") else "s") + f"{i}{rng.choice('abc')}" for i, n in enumerate(sorted(names))}
    domain, problem = _rename(domain, mapping), _rename(problem, mapping)

    def noise(text: str) -> str:
        chars = list(text)
        for i, c in enumerate(chars):
            if c.isalpha() and rng.random() < 0.3:
                chars[i] = c.swapcase()
            elif c == " " and rng.random() < 0.05:
                chars[i] = " ; a comment (with a paren\n\n "
        return "".join(chars)

    own, up = _both(Sources(noise(domain), "<domain>", noise(problem), "<problem>"))
    _assert_same(own.lifted, up)


@given(base=st.sampled_from(BASES), seed=st.integers(0, 2**32 - 1))
@MUTATION
def test_empty_sections_and_shuffled_sections(base: tuple[str, str], seed: int) -> None:
    rng = random.Random(seed)
    domain, problem = base
    original = read_pddl(domain, "<domain>", problem, "<problem>").lifted
    # empty sections where PDDL puts them: unified-planning reads these once _for_up drops them
    padded = re.sub(r"\(\s*:predicates", "(:functions)\n(:predicates", domain, count=1, flags=re.I)
    if ":constants" not in padded.lower():
        padded = re.sub(r"\(\s*:predicates", "(:constants)\n(:predicates", padded, count=1, flags=re.I)
    padded_problem = problem if ":objects" in problem.lower() else problem.replace("(:init", "(:objects)\n(:init")
    own, up = _both(Sources(padded, "<domain>", padded_problem, "<problem>"))
    _assert_same(own.lifted, up)
    # sections in any order read the same for the own reader; unified-planning wants PDDL's order
    shuffled = Sources(_shuffle_sections(domain, rng), "<domain>", _shuffle_sections(problem, rng), "<problem>")
    _assert_same(read_pddl(*vars(shuffled).values()).lifted, original)
    try:
        up_shuffled = lift(parse_up(shuffled).up_problem)
    except PDDLError:
        event("unified-planning refuses the shuffled order")
    else:
        _assert_same(up_shuffled, original)


@given(base=st.sampled_from(BASES), which=st.sampled_from(["domain", "problem"]), data=st.data())
@MUTATION
def test_a_dropped_parenthesis_is_one_clear_line(base: tuple[str, str], which: str, data: st.DataObject) -> None:
    domain, problem = base
    text = domain if which == "domain" else problem
    comments = [range(m.start(), m.end()) for m in re.finditer(r";[^\n]*", text)]
    parens = [i for i, c in enumerate(text) if c in "()" and not any(i in r for r in comments)]
    at = data.draw(st.sampled_from(parens))
    broken = text[:at] + text[at + 1 :]
    src = (
        Sources(broken, "<domain>", problem, "<problem>")
        if which == "domain"
        else Sources(domain, "<domain>", broken, "<problem>")
    )
    with pytest.raises(PDDLError) as info:
        read_pddl(*vars(src).values())
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"<{which}>")
    try:
        parse_up(src)
    except PDDLError:
        event("unified-planning refuses it too")
    else:  # unified-planning may read past a missing ')' at the end; ours never does
        event("unified-planning accepts it")


# ---------------------------------------------------------------- Tarski-style files


@pytest.mark.parametrize(
    ("folder", "instance", "plan"),
    [
        ("blocksworld", "instance-1", "(unstack c a) (put-down c) (pick-up b) (stack b c) (pick-up a) (stack a b)"),
        ("blocksworld", "instance-2", ""),
        (
            "gripper",
            "instance-1",
            "(pick ball1 rooma left) (pick ball2 rooma right) (move rooma roomb) "
            "(drop ball1 roomb left) (drop ball2 roomb right)",
        ),
    ],
)
def test_tarski_files_load_and_validate_a_plan(folder: str, instance: str, plan: str) -> None:
    problem = load_problem(TARSKI / folder / "domain.pddl", TARSKI / folder / f"{instance}.pddl")
    steps = parse_pddl_plan(plan)
    assert validate(problem, steps).valid
    assert up_validate(problem, steps)  # the lazy unified-planning problem reads Tarski's files too
    if steps:
        assert not validate(problem, steps[:-1]).valid


# ---------------------------------------------------------------- errors

D = """(define (domain d) (:requirements :strips :typing)
 (:types thing)
 (:predicates (p ?x - thing) (q ?x ?y))
 (:action a :parameters (?x - thing) :precondition (p ?x) :effect (not (p ?x))))"""
P = "(define (problem x) (:domain d) (:objects o - thing) (:init (p o)) (:goal (not (p o))))"


@pytest.mark.parametrize(
    ("domain", "problem", "message"),
    [
        (
            D.replace(":typing", ":typing :fancy"),
            P,
            "<domain text>: malformed PDDL domain (line 1): unknown requirement ':fancy'",
        ),
        (D, P.replace("- thing", "- gadget"), "<problem text>: malformed PDDL problem (line 1): undefined type gadget"),
        (D.replace("(?x - thing)", "(?x - gizmo)"), P, "(line 4): undefined type gizmo"),
        (D, P.replace("(:init (p o))", "(:init\n (r o))"), "(line 2): init: undefined predicate r"),
        (D, P.replace("(:goal (not (p o)))", "(:goal (p z))"), "goal: undefined object z"),
        (D.replace("(not (p ?x))", "(r ?x)"), P, "(line 4): action a: undefined predicate r"),
        (D.replace("(not (p ?x))", "(p ?y)"), P, "action a: undefined parameter ?y"),
        (D, P.replace("(:init (p o))", "(:init (q o))"), "init: predicate q takes 2 arguments, got 1"),
        (D, P.replace("(:domain d)", "(:domain other)"), "<problem text>: problem is for domain other, not d"),
        (D[:-1], P, "<domain text>: malformed PDDL domain (line 1): unbalanced parentheses"),
        (D, P + ")", "<problem text>: malformed PDDL problem (line 1): unbalanced parentheses"),
        (D, "  ; nothing\n", "<problem text>: empty problem file"),
        (D, "(hello world)", "<problem text>: not a PDDL problem"),
        (P, D, "<domain text>: this is a PDDL problem, where a domain was expected"),
    ],
)
def test_errors_are_one_line_with_file_and_line(domain: str, problem: str, message: str) -> None:
    with pytest.raises(PDDLError) as info:
        load_problem(domain, problem)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "d.pddl").write_text(D)
    (tmp_path / "p.pddl").write_text(P.replace("(:init (p o))", "(:init\n\n (p o o))"))
    with pytest.raises(PDDLError, match=r"p\.pddl: malformed PDDL problem \(line 3\): init: predicate p takes 1"):
        load_problem(tmp_path / "d.pddl", tmp_path / "p.pddl")


# ---------------------------------------------------------------- size and speed


def _many_objects(n: int) -> str:
    objects = "\n".join(f"o{i} - thing" for i in range(n))
    init = "\n".join(f"(p o{i})" for i in range(n))
    return f"(define (problem big) (:domain d) (:objects {objects}) (:init {init}) (:goal (not (p o0))))"


def test_large_tasks_load_in_seconds() -> None:
    start = time.perf_counter()
    assert len(load_problem(D, _many_objects(50_000)).objects) == 50_000
    preds = "\n".join(f"(p{i} ?x)" for i in range(20_000))
    domain = f"(define (domain many) (:predicates {preds}) (:action a :parameters (?x) :precondition (p7 ?x) :effect (p8 ?x)))"
    problem = (
        "(define (problem m) (:domain many) (:objects a) (:init "
        + " ".join(f"(p{i} a)" for i in range(20_000))
        + ") (:goal (p8 a)))"
    )
    assert len(load_problem(domain, problem).predicates) == 20_000
    assert time.perf_counter() - start < 20  # about 2 s on a quiet 2-core machine; unified-planning takes minutes


def test_beyond_the_limits_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fragment, "MAX_OBJECTS", 10)
    with pytest.raises(PDDLError, match=r"more than 10 objects"):
        load_problem(D, _many_objects(11))
    monkeypatch.setattr(_parse, "MAX_BYTES", 1_000)
    (tmp_path / "p.pddl").write_text(_many_objects(100))
    with pytest.raises(PDDLError, match=r"p\.pddl: the problem file is 0 MB; files over 0 MB are not read"):
        load_problem(D, tmp_path / "p.pddl")


# ---------------------------------------------------------------- unified-planning only on demand


def test_the_own_path_does_not_import_unified_planning() -> None:
    code = (
        "import sys\nfrom llm_modulo.verifiers.planning import load_problem, validate, parse_pddl_plan\n"
        f"p = load_problem({str(TARSKI / 'blocksworld' / 'domain.pddl')!r}, {str(TARSKI / 'blocksworld' / 'instance-2.pddl')!r})\n"
        "assert validate(p, []).valid\nassert 'unified_planning' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_up_problem_is_parsed_once_on_demand_across_threads() -> None:
    problem = load_problem(BLOCKS_DOMAIN, SUSSMAN_PROBLEM)
    assert problem._up_problem is None
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(problem.up_problem)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(s is seen[0] for s in seen) and seen[0] is not None
    assert str(seen[0].name).lower() == problem.name
