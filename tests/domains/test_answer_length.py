"""Each domain's bound on its answers (``max_answer_chars``, the token cap of ``max_tokens="auto"``):
the longest answer the task poses fits, in every prompt style."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from llm_modulo import Direct, ScriptedModel
from llm_modulo.domains.blocksworld import blocksworld, sussman_anomaly
from llm_modulo.domains.code import code_tasks
from llm_modulo.domains.coloring import coloring
from llm_modulo.domains.game24 import game24
from llm_modulo.domains.game24.puzzle import solution
from llm_modulo.domains.logistics import logistics
from llm_modulo.domains.planning import PLAN_END
from llm_modulo.strategies.options import MAX_TOKENS_MARGIN, answer_token_cap


def _plan(domain, task, steps, cot=False):
    body = domain.reasoning_plan_text(task.payload.problem, steps, task) if cot else domain.plan_text(steps, task)
    return body + PLAN_END


@pytest.mark.parametrize("style", ["nl", "pddl"])
def test_a_20_step_optimal_plan_fits_the_cap(planbench, style):
    """Blocksworld-hard instance-1: 6 blocks, a 20-step optimal plan (227 SmolLM2 tokens in words,
    137 in PDDL: more than the old 128-token default)."""
    domain = blocksworld(style)
    task = domain.load_files(
        planbench / "blocksworld_hard" / "generated_domain.pddl",
        planbench / "blocksworld_hard" / "generated" / "instance-1.pddl",
    )
    info = json.loads((planbench / "blocksworld_hard" / "info.json").read_text())["instance-1.pddl"]
    steps = [(line.strip("()").split()[0], tuple(line.strip("()").split()[1:])) for line in info["plan"].splitlines()]
    assert len(steps) == task.meta["optimal_plan_length"] == 20
    assert domain.plan_length_bound(task) >= 20
    text = _plan(domain, task, steps)
    # a token covers at least one character, so the cap in tokens fits the plan's characters
    assert answer_token_cap(None, domain, task) >= len(text) > 128
    # and it is not endless: the plan-length bound (4 x 6 blocks) times the longest step it can render
    longest = max(len(line) for line in domain._grammar_lines(task)[0])
    assert domain.max_answer_chars(task) == 24 * (longest + 1) + len(PLAN_END) + 1 < 3 * len(text)


@pytest.mark.parametrize("style", ["nl", "pddl"])
def test_chain_of_thought_gets_room_for_its_reasoning_lines(style, sussman_plan_text):
    plain, cot = blocksworld(style), blocksworld(style, cot=True)
    task, cot_task = sussman_anomaly(plain), sussman_anomaly(cot)
    steps = blocksworld().parse(sussman_anomaly(), sussman_plan_text).answer
    assert len(steps) == 6
    assert plain.max_answer_chars(task) >= len(_plan(plain, task, steps))
    reasoned = _plan(cot, cot_task, steps, cot=True)
    assert len(reasoned) > plain.max_answer_chars(task) / 2  # the reasoning lines are long
    assert cot.max_answer_chars(cot_task) >= len(reasoned)


def test_the_strategy_uses_the_domain_bound_and_records_it():
    domain = blocksworld()
    task = sussman_anomaly(domain)
    result = Direct(ScriptedModel(["pick up the red block\n[PLAN END]"]), domain, constrained="none").run(task)
    assert result.config["max_tokens"] == domain.max_answer_chars(task) + MAX_TOKENS_MARGIN
    assert result.config["max_tokens_auto"] is True


@pytest.mark.parametrize("style", ["nl", "pddl"])
def test_logistics_bound_covers_its_longest_steps(planbench, style):
    domain = logistics(style)
    task = domain.load("logistics/generated_basic/instance-2")
    lines, _ = domain._grammar_lines(task)
    longest = max(len(line) for line in lines)
    assert domain.max_answer_chars(task) == domain.plan_length_bound(task) * (longest + 1) + len(PLAN_END) + 1
    assert domain.plan_length_bound(task) >= 4 * len(task.payload.problem.objects)


@pytest.mark.parametrize("numbers", ["4 4 6 8", "1 1 1 1", "3 7 11 13", "1 5 5 5"])
def test_game24_bound_fits_three_steps_and_the_answer(numbers):
    domain = game24()
    task = domain.load(numbers)
    bound = domain.max_answer_chars(task)
    path = solution(task.payload.state)
    if path is not None:  # a real answer fits
        from llm_modulo.domains.game24.domain import answer_line

        start = [Fraction(x) for x in task.payload.numbers]
        raw = [(m.a, m.op, m.b, m.result) for m in path]
        text = "".join(m.line + "\n" for m in path) + answer_line(start, raw) + "\n[END]"
        assert len(text) <= bound
    assert bound < 256  # three short lines: far below a plan's cap


def test_coloring_and_code_bounds_fit_their_answers():
    dom = coloring()
    task = dom.load("n10-p0.4-k3-s7")
    pairs = [(v, v % 3) for v in range(10)]
    assert len(dom.answer_text(task, pairs) + "[COLORING END]") <= dom.max_answer_chars(task)
    code = code_tasks()
    for name in code.instances()[:5]:
        task = code.load(name)
        assert code.max_answer_chars(task) >= len(task.payload.reference) + len("```")
