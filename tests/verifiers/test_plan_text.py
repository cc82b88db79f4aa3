"""The one plan reader (plan_text): strict plan files as VAL and planners write them, lenient model answers."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_modulo.domains.blocksworld import SUSSMAN, domain_file, sussman_anomaly
from llm_modulo.errors import InputError
from llm_modulo.verifiers.planning import GroundAction, parse_pddl_plan
from llm_modulo.verifiers.planning.plan_text import (
    PlanSyntaxError,
    decode_plan,
    extract_steps,
    is_end_marker,
    is_start_marker,
    read_lenient,
    read_strict,
    strict_line_step,
)

GOLD = [("unstack", ("c", "a")), ("put-down", ("c",)), ("pick-up", ("b",)), ("stack", ("b", "c"))]
GOLD += [("pick-up", ("a",)), ("stack", ("a", "b"))]
GOLD_TEXT = "".join(f"({name} {' '.join(args)})\n" for name, args in GOLD)
COLOURS = {"a": "red", "b": "blue", "c": "orange"}  # PlanBench's names for the Sussman blocks


def steps(plan) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.name, tuple(s.args)) for s in plan.steps]


SUSSMAN_TASK = sussman_anomaly()


@pytest.fixture(scope="module")
def task():
    return SUSSMAN_TASK


# -- strict --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        GOLD_TEXT,
        GOLD_TEXT + "; cost = 6 (unit cost)\n",  # Fast Downward's sas_plan
        "; a plan\n\n" + GOLD_TEXT.replace(")\n", ") ; trailing comment\n", 2),
        "".join(f"{i}: ({n} {' '.join(a)}) [1]\n" for i, (n, a) in enumerate(GOLD)),  # VAL, integer times
        "".join(f"{i}.00{i + 1}: ({n} {' '.join(a)}) [1.000]\n" for i, (n, a) in enumerate(GOLD)),  # VAL, decimals
        "".join(f"{i}: ({n} {' '.join(a)})\n" for i, (n, a) in enumerate(GOLD)),  # VAL, no duration
        GOLD_TEXT.upper().replace("\n", "\r\n"),  # case and CRLF
        "".join(f"  (  {n}   {'  '.join(a)} )  \n" for n, a in GOLD),  # spacing
    ],
    ids=["plain", "sas_plan", "comments", "val-int", "val-decimal", "val-no-duration", "upper-crlf", "spacing"],
)
def test_strict_reads_plan_file_formats(text: str) -> None:
    assert steps(read_strict(text)) == GOLD


@pytest.mark.parametrize(
    ("text", "line_no", "shown"),
    [
        ("(pick-up a)\n(stack a a)\n[PLAN]\n" + GOLD_TEXT, 3, "[PLAN]"),  # a marker is not a step
        (GOLD_TEXT + "Plan ending here, next:\n(stack a a)\n", 7, "Plan ending here"),
        (GOLD_TEXT + "[PLAN END]\n", 7, "[PLAN END]"),
        ("1. (unstack c a)\n", 1, "1. (unstack c a)"),
        ("unstack the orange block from on top of the red block\n", 1, "unstack the orange"),
        ("(unstack c a) (put-down c)\n", 1, "(unstack c a) (put-down c)"),
        ("\n\n(unstack c a\n", 3, "(unstack c a"),
        ("0: (unstack c a) [one]\n", 1, "[one]"),
    ],
)
def test_strict_rejects_any_other_line_naming_it(text: str, line_no: int, shown: str) -> None:
    with pytest.raises(PlanSyntaxError) as info:
        read_strict(text)
    assert isinstance(info.value, InputError) and info.value.line_no == line_no
    message = str(info.value)
    assert f"line {line_no}" in message and shown in message and "\n" not in message


def test_strict_error_truncates_a_huge_line() -> None:
    with pytest.raises(PlanSyntaxError) as info:
        read_strict("x" * 5_000_000)
    assert len(str(info.value)) < 200 and "4999940 more characters" in str(info.value)


def test_strict_keeps_names_as_written() -> None:
    # PlanBench's colour names are not aliased: the validator reports the unknown objects
    assert steps(read_strict("(unstack orange red)\n")) == [("unstack", ("orange", "red"))]
    assert strict_line_step("; only a comment") is None and strict_line_step("   ") is None
    assert read_strict("").steps == [] and read_strict("(a)\n\n(b c)").lines == [1, 3]


def test_parse_pddl_plan_is_the_step_extraction() -> None:
    text = "; a comment (x)\n0: (UNSTACK A B) [1]\n(put-down a)\n[PLAN END]\n( )"
    expected = [GroundAction("unstack", ("a", "b")), GroundAction("put-down", ("a",))]
    assert parse_pddl_plan(text) == extract_steps(text) == expected
    assert parse_pddl_plan(GOLD_TEXT) == read_strict(GOLD_TEXT).steps


# -- markers and the lenient reader ---------------------------------------------------------------
@pytest.mark.parametrize("line", ["[PLAN END]", "[end plan]", "Plan End", "  [PLAN END].  ", "PLAN END:"])
def test_end_markers_are_exact_lines(line: str) -> None:
    assert is_end_marker(line)


@pytest.mark.parametrize("line", ["Plan ending here, next:", "plan end reached, now (stack a a)", "[PLAN END] more"])
def test_a_line_that_starts_like_an_end_marker_is_not_one(line: str) -> None:
    assert not is_end_marker(line)


def test_start_marker() -> None:
    assert is_start_marker("[PLAN]") and is_start_marker(" [plan]: ") and not is_start_marker("[PLAN] (pick-up a)")


def test_lenient_reports_what_it_skipped(task) -> None:
    parser = task.payload.parser
    text = "Sure, here it is.\n(pick-up a)\n[PLAN]\n" + GOLD_TEXT + "[PLAN END]\nHope this helps.\n"
    read = parser.read(text)
    assert steps(read) == GOLD
    assert read.skipped == [(1, "Sure, here it is."), (2, "(pick-up a)"), (11, "Hope this helps.")]
    assert parser.parse(text) == read.steps


def test_lenient_plan_end_prefix_is_a_step_not_the_end(task) -> None:
    read = task.payload.parser.read(GOLD_TEXT + "Plan ending here, next:\n(stack a a)\n")
    assert [s.name for s in read.steps][-2:] == ["plan ending here, next:", "stack"] and read.skipped == []


def test_lenient_reads_colour_names_comments_and_val_lines(task) -> None:
    parser = task.payload.parser
    colour = "".join(f"({n} {' '.join(COLOURS[x] for x in a)})\n" for n, a in GOLD)  # PlanBench ground_truth_plan
    assert steps(parser.read(colour)) == GOLD
    read = parser.read("0: (unstack c a) [1]\n(put-down c) ; ok\n; cost = 2\n")
    assert steps(read) == GOLD[:2] and read.skipped == [(3, "; cost = 2")]


def test_lenient_reasoning_lines_are_reported(task) -> None:
    read = task.payload.parser.read("The red block is clear.\nAction: (unstack c a)\n", reasoning=True)
    assert steps(read) == GOLD[:1] and read.skipped == [(1, "The red block is clear.")]


def test_read_lenient_without_a_vocabulary() -> None:
    read = read_lenient("intro\n[PLAN]\n(a x)\nnot a step\n[PLAN]\n[PLAN END]\n(b)", lambda line: strict_or_none(line))
    assert read.steps == [GroundAction("a", ("x",))]
    assert read.skipped == [(1, "intro"), (4, "not a step"), (5, "[PLAN]"), (7, "(b)")]


def strict_or_none(line: str) -> GroundAction | None:
    try:
        return strict_line_step(line)
    except ValueError:
        return None


# -- decoding ------------------------------------------------------------------------------------
def test_decode_plan() -> None:
    assert decode_plan(GOLD_TEXT.encode(), "p") == GOLD_TEXT
    assert decode_plan(codecs.BOM_UTF8 + GOLD_TEXT.encode(), "p") == GOLD_TEXT
    assert decode_plan(GOLD_TEXT.encode("utf-16"), "p") == GOLD_TEXT  # with its BOM
    assert decode_plan(codecs.BOM_UTF16_BE + GOLD_TEXT.encode("utf-16-be"), "p") == GOLD_TEXT
    assert decode_plan(GOLD_TEXT.encode("utf-32"), "p") == GOLD_TEXT
    with pytest.raises(InputError, match="not UTF-8 text"):
        decode_plan("; café\n".encode("latin-1"), "plan file x")
    with pytest.raises(InputError, match="NUL bytes"):
        decode_plan(b"(pick-up a)\n\x00\x00", "plan file x")
    with pytest.raises(InputError, match="NUL bytes"):
        decode_plan(GOLD_TEXT.encode("utf-16-le"), "plan file x")  # UTF-16 without a BOM
    with pytest.raises(InputError, match="not UTF-16 text"):
        decode_plan(codecs.BOM_UTF16_LE + b"(\x00p", "plan file x")  # odd length


# -- agreement with unified-planning ------------------------------------------------------------
ACTIONS = {"pick-up": 1, "put-down": 1, "stack": 2, "unstack": 2}
OBJECTS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def up_problem():
    from unified_planning.io import PDDLReader

    reader = PDDLReader()  # building one is slow: one for the module
    return reader, reader.parse_problem(str(domain_file()), str(SUSSMAN))


def _up_steps(up_problem, text: str) -> list[tuple[str, tuple[str, ...]]]:
    from unified_planning.plans import TimeTriggeredPlan

    reader, problem = up_problem
    plan = reader.parse_plan_string(problem, text)
    actions = [ai for _t, ai, _d in plan.timed_actions] if isinstance(plan, TimeTriggeredPlan) else plan.actions
    return [(ai.action.name, tuple(str(p) for p in ai.actual_parameters)) for ai in actions]


_step = st.sampled_from(sorted(ACTIONS)).flatmap(
    lambda name: st.tuples(
        st.just(name), st.lists(st.sampled_from(OBJECTS), min_size=ACTIONS[name], max_size=ACTIONS[name])
    )
)
_space = st.sampled_from(["", " ", "  ", "\t"])
_JUNK = [
    "[PLAN]",
    "[PLAN END]",
    "plan end",
    "1. (pick-up a)",
    "pick up the red block",
    "(pick-up a",
    "(stack a b) (pick-up c)",
]


@st.composite
def plan_files(draw: st.DrawFn) -> tuple[str, list[tuple[str, tuple[str, ...]]], bool]:
    """(file text, its steps, whether it holds a line both readers reject)."""
    plan = [(name, tuple(args)) for name, args in draw(st.lists(_step, max_size=8))]
    timed, duration = draw(st.booleans()), draw(st.booleans())
    lines = []
    for i, (name, args) in enumerate(plan):
        s = draw(_space)
        body = f"({s}{name if draw(st.booleans()) else name.upper()}{''.join(' ' + draw(_space) + a for a in args)}{s})"
        if timed:
            body = f"{i}{'.5' if draw(st.booleans()) else ''}:{s}{body}" + (
                f" [{draw(st.integers(1, 9))}]" if duration else ""
            )
        lines.append(draw(_space) + body + draw(_space))
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", "; a comment (pick-up a)", "   ;cost = 1"])))
    junk = draw(st.integers(0, 5)) == 0
    if junk:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(_JUNK)))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"])), plan, junk


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan_files())
def test_strict_reader_agrees_with_unified_planning(up_problem, case) -> None:
    text, plan, junk = case
    if junk:
        with pytest.raises(PlanSyntaxError):
            read_strict(text)
        with pytest.raises(Exception, match="Cannot interpret"):
            _up_steps(up_problem, text)
        return
    assert steps(read_strict(text)) == _up_steps(up_problem, text) == plan


_prose = st.text(alphabet="abcdefghij klmnop,.!:", max_size=30)
_NUMBERS = ["{i}. ", "{i}) ", "Step {i}: ", "- ", "* ", ""]


@st.composite
def model_answers(draw: st.DrawFn) -> str:
    """The Sussman gold plan as a model may write it: prose, markers, numbering, words or colours."""
    style, number = draw(st.sampled_from(["pddl", "colour", "words"])), draw(st.sampled_from(_NUMBERS))
    vocab = SUSSMAN_TASK.payload.vocabulary
    lines = [draw(_prose) for _ in range(draw(st.integers(0, 3)))]
    lines.append(draw(st.sampled_from(["[PLAN]", "[plan]", "[PLAN]:"])))
    for i, (name, args) in enumerate(GOLD, 1):
        if style == "words":
            line = vocab.action(name, args)
        else:
            line = f"({name} {' '.join(COLOURS[a] if style == 'colour' else a for a in args)})"
        lines.append(
            number.format(i=i) + (line.capitalize() + "." if style == "words" and draw(st.booleans()) else line)
        )
    lines.append(draw(st.sampled_from(["[PLAN END]", "[end plan]", "PLAN END.", "[Plan End]"])))
    lines += [draw(_prose) for _ in range(draw(st.integers(0, 3)))]
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model_answers())
def test_lenient_reads_the_gold_plan_out_of_a_model_answer(task, text: str) -> None:
    read = task.payload.parser.read(text)
    assert steps(read) == GOLD
    outside = [ln for ln in text.splitlines() if ln.strip()]
    assert len(read.skipped) == len(outside) - len(GOLD) - 2  # everything but the steps and the markers
