"""Game of 24: instances, reading answers, the z3 critic and its critiques, the answer grammar,
the search guide, the hooks, and end-to-end runs with the random and scripted models."""

from __future__ import annotations

import json
import random
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from llm_modulo.domains.game24 import Game24Domain, game24, solvable
from llm_modulo.domains.game24.arith import ExpressionError, evaluate, parse_expression, render
from llm_modulo.domains.game24.check import findings
from llm_modulo.domains.game24.domain import END, UNREACHABLE
from llm_modulo.domains.game24.puzzle import state_of
from llm_modulo.errors import InputError
from llm_modulo.feedback import domain_critique
from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.models.scripted import ScriptedModel
from llm_modulo.protocols import SamplingParams
from llm_modulo.types import Budget, Candidate, FeedbackLevel, ResultStatus, VerdictStatus

CORPUS = Path(__file__).parents[1] / "fixtures" / "game24" / "corpus.jsonl"
GOOD = "Steps:\n4 + 8 = 12 (left: 4 6 12)\n6 - 4 = 2 (left: 2 12)\n2 * 12 = 24 (left: 24)\nAnswer: (6 - 4) * (4 + 8) = 24\n[END]"


@pytest.fixture(scope="module")
def domain() -> Game24Domain:
    return game24()


@pytest.fixture(scope="module")
def t4468(domain):
    return domain.load("4 4 6 8")


def check(domain, task, text):
    candidate = domain.parse(task, text)
    (verdict,) = [critic.check(task, candidate) for critic in domain.critics(task)]
    return candidate, verdict


# -- instances -------------------------------------------------------------------------------------
def test_load_rank_and_explicit_puzzles(domain):
    task = domain.load("901")
    assert task.id == "901" and task.domain == "game24" and task.payload.numbers == (4, 5, 6, 10)
    assert task.meta == {"numbers": [4, 5, 6, 10], "rank": 901}
    for text in ("4 4 4 4", "4,4,4,4", " 4, 4 ,4 4 "):
        assert domain.load(text).payload.numbers == (4, 4, 4, 4)
    assert domain.load("4,4,4,4").id == "4 4 4 4"


def test_instance_sets(domain):
    test = domain.instances("test")
    assert test == [str(r) for r in range(901, 1001)]
    everything = domain.instances("all")
    assert len(everything) == 1362 and everything[0] == "1" and everything[-1] == "1362"


@pytest.mark.parametrize("bad", ["0", "99999", "four four", "4 -4 6 8", "1 2 3 4 5", ""])
def test_unknown_instances_are_one_line_input_errors(domain, bad):
    with pytest.raises(InputError) as info:
        domain.load(bad)
    assert "\n" not in str(info.value)


def test_unknown_set_and_missing_data(domain, monkeypatch, tmp_path):
    with pytest.raises(InputError, match="unknown Game-of-24 instance set 'train'"):
        domain.instances("train")
    monkeypatch.setenv("LLM_MODULO_BENCHMARKS", str(tmp_path))
    with pytest.raises(InputError, match="game24/24.csv") as info:
        domain.load("901")
    assert "\n" not in str(info.value)
    assert domain.load("1 2 3 4").payload.numbers == (1, 2, 3, 4)  # explicit puzzles need no data


# -- expressions ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "(lambda: 24)()",
        "x * 4",
        "-(4 - 8) * 6",
        "2 ** 3 * 3",
        "8 // 3",
        "2 ^ 3",
        "'24'",
        "",
    ],
)
def test_expressions_are_read_never_evaluated_by_python(text):
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_exact_arithmetic_and_minimal_parentheses():
    tree = parse_expression("8 / (3 - 8 / 3)")
    assert evaluate(tree) == 24 and render(tree) == "8 / (3 - 8 / 3)"
    assert render(parse_expression("((4 + 8)) * (6 - (4))")) == "(4 + 8) * (6 - 4)"
    assert render(parse_expression("10 - (6 - 4 * 5)")) == "10 - (6 - 4 * 5)"
    assert render(parse_expression("1 + (2 + 3) * (4 / (5 * 6))")) == "1 + (2 + 3) * (4 / (5 * 6))"
    assert render(parse_expression("(1 + 2) + 3 * 4 * 5")) == "1 + 2 + 3 * 4 * 5"
    for text in ("1 + (2 + 3) * (4 / (5 * 6))", "8 / (3 - 8 / 3)", "2 * (3 * 4) - (5 - 6)"):
        assert parse_expression(render(parse_expression(text))) == parse_expression(text)
    assert evaluate(parse_expression("1 / 3 + 1 / 3 + 1 / 3")) == 1  # no float rounding


# -- reading answers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, source",
    [
        (GOOD, "answer"),
        ("Sure! Here it is.\n**Answer:** (6 − 4) × (4 + 8) = 24. Hope this helps.", "answer"),
        ("answer: (6-4)*(4+8)", "answer"),
        ("The answer is\n(6 - 4) * (4 + 8) = 24", "answer"),
        ("24 = (6 - 4) * (4 + 8)", "expression"),
        ("Step 1: 8 + 4 = 12\nStep 2: 6 - 4 = 2\nStep 3: 12 * 2 = 24", "steps"),
        ("1. 4 + 8 = 12, left: 4 6 12\n2. 6 - 4 = 2, left: 2 12\n3. 2 × 12 = 24", "steps"),
    ],
)
def test_sloppy_answers_are_read(domain, t4468, text, source):
    candidate, verdict = check(domain, t4468, text)
    assert candidate.answer["source"] == source
    assert evaluate(parse_expression(candidate.answer["expression"])) == 24
    assert verdict.valid, verdict.violations
    assert json.loads(json.dumps(candidate.answer)) == candidate.answer


def test_answer_record(domain, t4468):
    answer = domain.parse(t4468, GOOD).answer
    assert answer["expression"] == "(6 - 4) * (4 + 8)" and answer["errors"] == []
    assert answer["steps"][0] == {
        "a": "4",
        "op": "+",
        "b": "8",
        "result": "12",
        "left": ["4", "6", "12"],
        "text": "4 + 8 = 12 (left: 4 6 12)",
    }
    fractional = domain.parse(domain.load("3 3 8 8"), "8 / 3 = 8/3 (left: 3 8 8/3)\n3 - 8/3 = 1/3 (left: 8 1/3)").answer
    assert [s["result"] for s in fractional["steps"]] == ["8/3", "1/3"]


def test_the_first_answer_counts_and_invented_puzzles_are_ignored(domain, t4468):
    text = "Answer: (6 - 4) * (4 + 8) = 24\nInput: 1 2 3 4\nSteps:\n1 + 2 = 3 (left: 3 3 4)\nAnswer: 3 * 4 = 12"
    answer = domain.parse(t4468, text).answer
    assert answer["expression"] == "(6 - 4) * (4 + 8)" and answer["steps"] == []


def test_nothing_readable_is_a_parse_error(domain, t4468):
    candidate, verdict = check(domain, t4468, "I do not know.")
    assert candidate.answer is None and verdict.violations[0].kind == "parse_error"
    assert "Answer:" in domain_critique(domain, t4468, candidate, [verdict], FeedbackLevel.FIRST)


# -- the z3 critic's findings, in plain words ------------------------------------------------------
@pytest.mark.parametrize(
    "text, phrase, kind",
    [
        ("Answer: 4 * 4 * 4 = 24", "uses 4 three times", "wrong_numbers"),
        ("Answer: 4 * (8 - 4) + 8 = 24", "does not use 6", "wrong_numbers"),
        ("Answer: (4 + 8) * (6 - 4) + 7 = 24", "uses 7, which is not one of the numbers", "wrong_numbers"),
        ("Answer: (4 + 8) * (6 - 4) - 2 * 4 / 4 + 0 = 24", "evaluates to 22, not 24", "wrong_value"),
        ("Answer: 6 * (4 + 8) / (4 - 4) = 24", "divides by zero", "division_by_zero"),
        (
            "Steps:\n4 + 8 = 12 (left: 4 6 12)\n6 * 4 = 22 (left: 12 22)\nAnswer: (6 - 4) * (4 + 8) = 24",
            "Step 2: 6 * 4 is 24, not 22",
            "wrong_step",
        ),
        (
            "4 + 8 = 12 (left: 4 6 12)\n6 - 4 = 2 (left: 2 10)\nAnswer: (6 - 4) * (4 + 8) = 24",
            "Step 2: the numbers left are 2 12, not 2 10",
            "wrong_left",
        ),
        (
            "4 + 8 = 12 (left: 4 6 12)\n5 - 4 = 1 (left: 1 6 12)\nAnswer: (6 - 4) * (4 + 8) = 24",
            "Step 2: 5 is not among the numbers left (4 6 12)",
            "unavailable_number",
        ),
        (
            "4 + 8 = 12 (left: 4 6 12)\n6 - 4 = 2 (left: 2 12)\n2 + 12 = 14 (left: 14)",
            "the expression your steps build, 6 - 4 + (4 + 8), evaluates to 14, not 24",
            "wrong_value",
        ),
        ("Answer: -(4 - 8) * 6 = 24", "negation", "parse_error"),
    ],
)
def test_critiques_say_what_is_wrong(domain, t4468, text, phrase, kind):
    candidate, verdict = check(domain, t4468, text)
    assert verdict.status is VerdictStatus.INVALID and verdict.hard and verdict.engine.startswith("z3 ")
    assert kind in {v.kind for v in verdict.violations}
    assert 0 <= verdict.score < 1
    critique = domain_critique(domain, t4468, candidate, [verdict], FeedbackLevel.ALL)
    assert phrase in critique and critique.startswith("The answer is not correct.")
    assert domain.reference_check(t4468, candidate.answer) == (False, "exact Fraction evaluation")


def test_feedback_levels(domain, t4468):
    candidate, verdict = check(domain, t4468, "Answer: 4 * 4 * 4 = 24")
    assert domain_critique(domain, t4468, candidate, [verdict], FeedbackLevel.NONE) == "Please try again."
    assert domain_critique(domain, t4468, candidate, [verdict], FeedbackLevel.BINARY) == "The answer is not correct."
    first = domain_critique(domain, t4468, candidate, [verdict], FeedbackLevel.FIRST)
    every = domain_critique(domain, t4468, candidate, [verdict], FeedbackLevel.ALL)
    assert first.count("The answer 4 * 4 * 4") == 1 and every.count("The answer 4 * 4 * 4") == 4


def test_valid_answer_and_score(domain, t4468):
    candidate, verdict = check(domain, t4468, GOOD)
    assert verdict.valid and verdict.score == 1.0 and verdict.info["violated"] == []
    assert domain.reference_check(t4468, candidate.answer) == (True, "exact Fraction evaluation")
    assert domain.reference_check(t4468, None)[0] is False


# -- refutation and reference answers --------------------------------------------------------------
@pytest.mark.parametrize("numbers", ["1 1 1 1", "13 13 13 13", "1 1 1 2", "4 5 6 10", "3 3 8 8", "1 5 5 5"])
def test_z3_decides_solvability_like_the_exact_solver(domain, numbers):
    task = domain.load(numbers)
    (critic,) = domain.critics(task)
    proof = critic.refute(task)
    exact = solvable(task.payload.state)
    assert (proof is None) == exact
    if proof is not None:
        assert [v.kind for v in proof.violations] == ["no_solution"]
        assert (
            proof.violations[0].message
            == f"no expression of {numbers} with + - * / that uses each number once makes 24"
        )
        assert critic.reference(task) is None
    else:
        answer = critic.reference(task)
        assert domain.reference_check(task, answer)[0]
        assert critic.check(task, Candidate(text="", answer=answer)).valid


# -- the answer grammar -----------------------------------------------------------------------------
def test_executable_grammar_offers_exactly_the_moves(domain, t4468):
    c = domain.constraint(t4468, executable=True)
    assert c.end == END and c.max_lines == 4 and c.next_lines is not None
    first, end_ok = c.choices(())
    assert not end_ok and len(first) == len(set(first))
    # 4 4 6 8: pairs (4,4) (4,6) (4,8) (6,8); + and * once per pair, - and / both ways, 4-4 once
    assert len(first) == 4 * 6 - 2
    assert "4 + 8 = 12 (left: 4 6 12)" in first and "8 + 4 = 12 (left: 4 6 12)" not in first
    assert "4 - 8 = -4 (left: -4 4 6)" in first and "6 / 4 = 3/2 (left: 3/2 4 8)" in first
    second, _ = c.choices(("4 + 8 = 12 (left: 4 6 12)",))
    assert "6 - 4 = 2 (left: 2 12)" in second and "4 + 8 = 12 (left: 4 6 12)" not in second
    path = ("4 + 8 = 12 (left: 4 6 12)", "6 - 4 = 2 (left: 2 12)", "2 * 12 = 24 (left: 24)")
    last, end_ok = c.choices(path)
    assert list(last) == ["Answer: (6 - 4) * (4 + 8) = 24"] and not end_ok
    assert c.choices((*path, last[0])) == ([], True)
    assert set(c.lines) >= {*first, *second, *last}


def test_smaller_puzzles(domain):
    task = domain.make_task((3, 8))
    c = domain.constraint(task, executable=True)
    lines, _ = c.choices(())
    assert "3 * 8 = 24 (left: 24)" in lines and c.max_lines == 2
    assert c.choices(("3 * 8 = 24 (left: 24)",))[0] == ["Answer: 3 * 8 = 24"]
    single = domain.make_task((24,))
    assert domain.constraint(single, executable=True).choices(()) == (["Answer: 24 = 24"], False)
    assert check(domain, single, "Answer: 24")[1].valid


def test_no_division_by_zero_in_the_grammar(domain):
    task = domain.load("0 3 4 6")
    lines, _ = domain.constraint(task, executable=True).choices(())
    assert not [line for line in lines if "/ 0 " in line]
    assert "0 / 3 = 0 (left: 0 4 6)" in lines


def test_random_answers_are_well_formed_and_the_critics_agree(domain):
    task = domain.load("903")
    batch = RandomProposer(seed=1).sample(
        domain.prompt(task), 40, SamplingParams(), domain.constraint(task, executable=True)
    )
    kinds = Counter()
    for completion in batch.completions:
        text = "Steps:\n" + completion.text
        lines = completion.text.splitlines()
        assert len(lines) == 5 and lines[3].startswith("Answer: ") and lines[4] == END
        candidate, verdict = check(domain, task, text)
        assert candidate.answer["source"] == "answer" and len(candidate.answer["steps"]) == 3
        kinds.update(v.kind for v in verdict.violations)
        assert verdict.valid == domain.reference_check(task, candidate.answer)[0]
        # the answer line is the expression the steps build
        assert evaluate(parse_expression(candidate.answer["expression"])) == Fraction(
            candidate.answer["steps"][-1]["result"]
        )
    assert set(kinds) <= {"wrong_value"}  # steps and numbers are right by construction


def test_grammar_works_with_the_token_trie(domain):
    from llm_modulo.models.constrained import LineGrammar

    task = domain.load("901")
    c = domain.constraint(task, executable=True)
    grammar = LineGrammar(c, lambda s: [ord(ch) for ch in s], eos_ids=[0])
    rng = random.Random(0)
    state, out = grammar.start(), []
    while not state.done:
        token = rng.choice(grammar.allowed(state))
        if token != 0:
            out.append(chr(token))
        state = grammar.advance(state, token)
    lines = "".join(out).splitlines()
    assert len(lines) == 5 and lines[-1] == END and lines[-2].startswith("Answer: ")


def test_prefix_and_static_grammars(domain, t4468):
    c = domain.constraint(t4468, prefix="4 + 8 = 12 (left: 4 6 12)\n", executable=True)
    lines, _ = c.choices(())
    assert "6 - 4 = 2 (left: 2 12)" in lines and c.max_lines == 3
    broken = domain.constraint(t4468, prefix="4 + 8 = 13 (left: 4 6 13)\n", executable=True)
    assert broken.next_lines is None
    static = domain.constraint(t4468)
    assert static.next_lines is None and static.max_lines == 4
    assert "Answer: (6 - 4) * (4 + 8) = 24" in static.lines


# -- search guide, prefixes, votes, judge ---------------------------------------------------------
def test_search_guide(domain, t4468):
    step = "4 + 8 = 12 (left: 4 6 12)"
    dead = "4 - 4 = 0 (left: 0 6 8)"  # 0 6 8 cannot make 24
    assert not solvable(state_of([Fraction(0), Fraction(6), Fraction(8)]))
    exact = domain.search_guide(t4468, "relaxed-plan")
    assert exact(()) == (state_of([Fraction(4), Fraction(4), Fraction(6), Fraction(8)]), 3.0)
    assert exact((step,)) == ((Fraction(4), Fraction(6), Fraction(12)), 2.0)
    assert exact((dead,))[1] == UNREACHABLE
    assert domain.search_guide(t4468, "goal-count")((dead,))[1] == 2.0
    assert domain.search_guide(t4468, "none")((dead,))[1] == 0.0
    path = (step, "6 - 4 = 2 (left: 2 12)", "2 * 12 = 24 (left: 24)")
    assert exact(path) == ((Fraction(24),), 0.0)
    key, h = exact((*path, "Answer: (6 - 4) * (4 + 8) = 24"))
    assert key == ("answer", (Fraction(24),)) and h == 0.0
    with pytest.raises(InputError):
        domain.search_guide(t4468, "ff")


def test_valid_prefix_and_rejected_continuation(domain, t4468):
    text = "4 + 8 = 12 (left: 4 6 12)\n6 * 4 = 22 (left: 12 22)\nAnswer: 22 + 4 - 2 = 24"
    candidate, verdict = check(domain, t4468, text)
    assert domain.valid_prefix(t4468, candidate, [verdict]) == "4 + 8 = 12 (left: 4 6 12)\n"
    assert (
        domain.rejected_continuation(t4468, candidate, [verdict], "4 + 8 = 12 (left: 4 6 12)\n")
        == "6 * 4 = 22 (left: 12 22)"
    )
    assert domain.rejected_continuation(t4468, candidate, [verdict], "") is None
    # right steps into a dead end: the whole valid prefix, or back to where 24 was still possible
    dead = "8 + 4 = 12 (left: 4 6 12)\n4 - 6 = -2 (left: -2 12)\nAnswer: 4 - 6 + 8 + 4 = 24"
    candidate, verdict = check(domain, t4468, dead)
    assert domain.valid_prefix(t4468, candidate, [verdict], to_best=False) == (
        "4 + 8 = 12 (left: 4 6 12)\n4 - 6 = -2 (left: -2 12)\n"
    )
    assert domain.valid_prefix(t4468, candidate, [verdict]) == "4 + 8 = 12 (left: 4 6 12)\n"


def test_normalize_votes_by_expression_up_to_reordering(domain, t4468):
    key = lambda text: domain.normalize(t4468, domain.parse(t4468, text))  # noqa: E731
    assert key("Answer: (6 - 4) * (4 + 8)") == key("Answer: (8 + 4) * (6 - 4) = 24") == key(GOOD)
    assert key("Answer: (6 - 4) * (4 + 8)") != key("Answer: (6 - 4) * 8 + 4 * 4")
    assert key("Answer: 4 - (8 - 6)") == key("Answer: 4 + 6 - 8")
    assert key("nothing") is None and key("Answer: 2 ^ 3") is None


def test_prompts(domain, t4468):
    task = domain.load("901")
    prompt = domain.prompt(task)
    text = prompt.messages[0]["content"]
    assert "Input: 4 4 6 8\nSteps:\n4 + 8 = 12 (left: 4 6 12)" in text and text.endswith("Input: 4 5 6 10")
    assert "Answer: (6 - 4) * (4 + 8) = 24\n[END]" in text
    assert prompt.prefill == "Steps:\n"
    assert "Input: 2 9 10 12" in domain.prompt(t4468).messages[0]["content"]  # not its own example
    assert "Input: 4 4 6 8\n" not in game24(one_shot=False).prompt(task).messages[0]["content"]
    assert domain.prompt(task, prefill="4 + 5 = 9 (left: 6 9 10)\n").prefill == "Steps:\n4 + 5 = 9 (left: 6 9 10)\n"
    judge = domain.judge_prompt(task, domain.parse(task, "Answer: 4 * 5 + 10 - 6 = 24\nInput: 1 2 3 4"))
    assert (
        "Answer: 4 * 5 + 10 - 6 = 24" in judge.messages[0]["content"] and "1 2 3 4" not in judge.messages[0]["content"]
    )
    jc = domain.judge_constraint(task)
    assert jc.max_lines == 1 and jc.end in jc.exclude_first and all(line.startswith(("Yes", "No")) for line in jc.lines)


def test_worked_examples_are_correct(domain):
    from llm_modulo.domains.game24.domain import EXAMPLES, worked_answer

    for numbers, steps in EXAMPLES:
        task = domain.make_task(numbers)
        candidate, verdict = check(domain, task, worked_answer(numbers, steps))
        assert verdict.valid and candidate.answer["source"] == "answer"


# -- end to end -------------------------------------------------------------------------------------
def test_best_of_n_with_the_random_proposer_verifies(domain):
    from llm_modulo.strategies.best_of_n import BestOfN

    task = domain.load("901")
    result = BestOfN(
        RandomProposer(seed=0), domain, budget=Budget(rounds=None, samples=200), n=8, constrained="executable", seed=0
    ).run(task)
    assert result.status is ResultStatus.VERIFIED
    assert evaluate(parse_expression(result.answer["expression"])) == 24
    assert domain.reference_check(task, result.answer)[0]
    assert json.loads(json.dumps(result.model_dump(mode="json")))["answer"] == result.answer


@pytest.mark.parametrize("instance", ["901", "902", "903"])
def test_search_with_the_random_proposer_verifies(domain, instance):
    from llm_modulo.strategies.search import Search

    task = domain.load(instance)
    result = Search(RandomProposer(seed=0), domain, budget=Budget(rounds=None, samples=None, nodes=50), seed=0).run(
        task
    )
    assert result.status is ResultStatus.VERIFIED
    assert result.usage.nodes == 4  # the exact estimate walks straight down: 3 steps and the answer line
    assert domain.reference_check(task, result.answer)[0]


def test_a_known_wrong_answer_gets_the_right_critique(domain, t4468):
    from llm_modulo.strategies.modulo import Modulo

    wrong = "4 + 8 = 12 (left: 4 6 12)\n6 * 4 = 22 (left: 12 22)\nAnswer: 4 * 6 - 8 / 4 = 24"
    model = ScriptedModel([wrong, GOOD.removeprefix("Steps:\n")])
    result = Modulo(
        model, domain, budget=Budget(rounds=2, samples=2), n=1, reuse_prefix=False, feedback="all", seed=0
    ).run(t4468)
    first = result.trace[0].samples[0]
    assert first.verdicts[0].status is VerdictStatus.INVALID
    assert {v.kind for v in first.verdicts[0].violations} == {"wrong_step", "wrong_value"}
    resent = model.prompts[1].messages[-1]["content"]
    assert "Step 2: 6 * 4 is 24, not 22." in resent and "evaluates to 22, not 24" in resent
    assert result.status is ResultStatus.VERIFIED and result.answer["expression"] == "(6 - 4) * (4 + 8)"


def test_an_unsolvable_puzzle_ends_with_the_z3_proof(domain):
    from llm_modulo.strategies.best_of_n import BestOfN

    task = domain.load("1 1 1 1")
    model = ScriptedModel(["Answer: (1 + 1 + 1) * 1 = 24"])
    result = BestOfN(model, domain, budget=Budget(samples=8), n=4).run(task)
    assert result.status is ResultStatus.NO_SOLUTION and model.calls == []
    (proof,) = result.certificate
    assert proof.critic == "z3" and proof.violations[0].kind == "no_solution"
    assert "no expression of 1 1 1 1" in proof.violations[0].message


# -- the fixture corpus: the z3 critic and exact Fractions agree on every answer -------------------
RECORDS = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def test_corpus_covers_every_fault():
    assert len(RECORDS) >= 100
    assert sum(r["valid"] for r in RECORDS) >= 50 and sum(not r["valid"] for r in RECORDS) >= 50
    kinds = {r["kind"] for r in RECORDS if r["kind"]}
    assert kinds == {
        "wrong_value",
        "wrong_numbers",
        "division_by_zero",
        "wrong_step",
        "wrong_left",
        "unavailable_number",
        "parse_error",
    }
    assert {"1 1 1 1", "13 13 13 13"} <= {r["instance"] for r in RECORDS}


@pytest.mark.parametrize("record", RECORDS, ids=[f"{r['instance']}:{r['note']}" for r in RECORDS])
def test_corpus_answer(domain, record):
    task = domain.load(record["instance"])
    candidate, verdict = check(domain, task, record["text"])
    z3_faults = Counter((v.kind, v.step) for v in verdict.violations)
    exact_faults = Counter(findings(task.payload.numbers, candidate.answer))
    assert verdict.valid == record["valid"] == domain.reference_check(task, candidate.answer)[0]
    assert z3_faults == exact_faults
    if record["kind"]:
        assert record["kind"] in {kind for kind, _ in z3_faults}
