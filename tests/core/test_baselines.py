"""The baselines: self-consistency (majority vote), self-critique (the model judges itself), chain of thought.

In both strategies the sound critics only score: the tests below show that swapping the
critics for ones that always accept or always reject changes nothing the strategy does, and
that a result is verified only through the critics' re-check of the returned answer.
"""

from __future__ import annotations

import itertools

import pytest

from llm_modulo import (
    Budget,
    Candidate,
    Direct,
    InputError,
    RandomProposer,
    ResultStatus,
    ScriptedModel,
    SelfConsistency,
    SelfCritique,
    Verdict,
    VerdictStatus,
)
from llm_modulo.domains.planning.domain import JUDGE_NO, JUDGE_QUESTION, JUDGE_YES
from llm_modulo.registry import get_domain, get_strategy
from llm_modulo.strategies import self_critique
from llm_modulo.strategies.self_consistency import majority, vote_key
from llm_modulo.strategies.self_critique import parse_judgement

BAD = "stack the red block on top of the blue block\n[PLAN END]"  # not holding red
HALF = (
    "unstack the orange block from on top of the red block\nput down the orange block\n"
    "stack the red block on top of the blue block\n[PLAN END]"
)
NO_EXPLAINED = "No, the plan is not valid. I cannot stack the red block because I am not holding it."
YES = "Yes, the plan is valid."


class _Always:
    """A hard critic with a fixed opinion: used to show that a strategy's decisions ignore the critics."""

    hard = True

    def __init__(self, status: VerdictStatus) -> None:
        self.status = status
        self.name = f"always-{status.value}"

    def check(self, task, candidate):
        return Verdict(status=self.status, critic=self.name, score=1.0 if self.status is VerdictStatus.VALID else 0.0)


class _NoHooks:
    """The planning domain without any optional hook: strategies must fall back."""

    HOOKS = frozenset({"normalize", "judge_prompt", "judge_constraint", "rejected_continuation"})

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name):
        if name in self.HOOKS:
            raise AttributeError(name)
        return getattr(self._inner, name)


def _numbered(plan_text: str) -> str:
    """The same plan written differently (numbered, capitalised): the same vote."""
    lines = [ln for ln in plan_text.splitlines() if ln and ln != "[PLAN END]"]
    return "\n".join(f"{i}. {ln.capitalize()}." for i, ln in enumerate(lines, 1)) + "\n[PLAN END]"


def _judging(plans, verdicts):
    """A scripted model that answers plan prompts from ``plans`` and judge prompts from ``verdicts``."""
    plans, verdicts = iter(plans), iter(verdicts)

    def script(prompt, n):
        source = verdicts if JUDGE_QUESTION in prompt.messages[-1]["content"] else plans
        return list(itertools.islice(source, n))

    return ScriptedModel(script)


# -- self-consistency ---------------------------------------------------------------------------


def test_registry_names():
    assert get_strategy("self-consistency") is SelfConsistency
    assert get_strategy("self-critique") is SelfCritique


def test_majority_wins_and_is_verified_by_the_critics(bw, sussman, sussman_plan_text):
    model = ScriptedModel([BAD, sussman_plan_text, HALF, _numbered(sussman_plan_text), BAD + "\n", sussman_plan_text])
    result = SelfConsistency(model, bw, budget=Budget(samples=None, rounds=None), n=4, k=6).run(sussman)
    assert model.calls == [4, 2]
    assert result.status is ResultStatus.VERIFIED and len(result.answer) == 6
    assert result.answer_text == "[PLAN]\n" + sussman_plan_text  # the winner's first occurrence
    assert result.certificate and all(v.valid for v in result.certificate)
    info = result.info
    assert (info["votes"], info["distinct_answers"], info["voters"], info["abstained"]) == (3, 3, 6, 0)
    assert info["majority_certified"] and info["oracle_at_k"] and info["certified_samples"] == 3
    assert result.usage.samples == 6 and result.usage.llm_calls == 2


def test_vote_ignores_verdicts_majority_can_lose_to_oracle(bw, sussman, sussman_plan_text):
    model = ScriptedModel([BAD, sussman_plan_text, BAD])
    result = SelfConsistency(model, bw, budget=Budget(samples=3)).run(sussman)
    assert result.status is ResultStatus.FAILED and result.certificate == []
    assert result.answer_text == "[PLAN]\n" + BAD
    assert result.info["votes"] == 2 and not result.info["majority_certified"]
    assert result.info["oracle_at_k"]  # selection by the critics would have found the valid plan


@pytest.mark.parametrize(("first", "verified"), [(0, False), (1, True)])
def test_ties_go_to_the_first_answer(bw, sussman, sussman_plan_text, first, verified):
    order = [BAD, sussman_plan_text] if first == 0 else [sussman_plan_text, BAD]
    result = SelfConsistency(ScriptedModel(order), bw, budget=Budget(samples=2)).run(sussman)
    assert result.verified is verified
    assert result.info["votes"] == 1 and result.info["distinct_answers"] == 2


def test_empty_and_unparseable_answers_do_not_vote(bw, sussman):
    model = ScriptedModel(["[PLAN END]", "fly to the moon\n[PLAN END]", "", BAD, "[PLAN END]"])
    result = SelfConsistency(model, bw, budget=Budget(samples=5)).run(sussman)
    assert result.answer_text == "[PLAN]\n" + BAD
    assert (result.info["votes"], result.info["voters"], result.info["abstained"]) == (1, 1, 4)


def test_nobody_votes_means_failed_without_answer(bw, sussman):
    result = SelfConsistency(ScriptedModel(["[PLAN END]"], cycle=True), bw, budget=Budget(samples=3)).run(sussman)
    assert result.status is ResultStatus.FAILED and result.answer is None
    assert result.info["voters"] == 0 and result.info["distinct_answers"] == 0


def test_k_defaults_to_the_sample_budget_or_eight(bw):
    model = ScriptedModel([BAD])
    assert SelfConsistency(model, bw, budget=Budget(samples=6)).k == 6
    assert SelfConsistency(model, bw, budget=Budget(samples=None)).k == 8
    assert SelfConsistency(model, bw, k=3).config()["k"] == 3
    with pytest.raises(ValueError):
        SelfConsistency(model, bw, k=0)


@pytest.mark.parametrize(
    ("budget", "k", "n", "calls"),
    [
        (Budget(samples=4, rounds=None), 10, 3, [3, 1]),  # the sample budget caps k
        (Budget(samples=None, rounds=2), 10, 3, [3, 3]),  # one call per round
        (Budget(samples=64, rounds=None), 5, 2, [2, 2, 1]),  # k caps the budget
    ],
)
def test_self_consistency_respects_the_budget(bw, sussman, budget, k, n, calls):
    model = ScriptedModel([BAD], cycle=True)
    result = SelfConsistency(model, bw, budget=budget, n=n, k=k).run(sussman)
    assert model.calls == calls
    assert result.usage.samples == sum(calls) == result.info["samples"]
    assert budget.samples is None or result.usage.samples <= budget.samples


@pytest.mark.parametrize("status", [VerdictStatus.VALID, VerdictStatus.INVALID])
def test_self_consistency_vote_is_the_same_whatever_the_critics_say(
    bw, sussman, sussman_plan_text, status, monkeypatch
):
    script = [BAD, HALF, sussman_plan_text, HALF, BAD, HALF]
    baseline = SelfConsistency(ScriptedModel(script), bw, budget=Budget(samples=6)).run(sussman)
    monkeypatch.setattr(bw, "critics", lambda task: [_Always(status)])
    flipped = SelfConsistency(ScriptedModel(script), bw, budget=Budget(samples=6)).run(sussman)
    assert flipped.answer_text == baseline.answer_text == "[PLAN]\n" + HALF
    assert flipped.info["votes"] == baseline.info["votes"] == 3
    # only the scoring follows the critics
    assert flipped.verified is (status is VerdictStatus.VALID) and not baseline.verified


def test_self_consistency_without_the_normalize_hook(bw, sussman, sussman_plan_text):
    domain = _NoHooks(bw)
    model = ScriptedModel([BAD, sussman_plan_text, _numbered(sussman_plan_text), "[PLAN END]"])
    result = SelfConsistency(model, domain, budget=Budget(samples=4)).run(sussman)
    assert result.verified and result.info["votes"] == 2
    assert result.info["abstained"] == 1  # the empty plan


def test_vote_key_fallback_and_majority():
    domain = object()  # no normalize hook
    assert vote_key(domain, None, Candidate(text="x", answer=None)) is None
    assert vote_key(domain, None, Candidate(text="x", answer=[])) is None
    assert vote_key(domain, None, Candidate(text="x", answer="  ")) is None
    assert vote_key(domain, None, Candidate(text="x", answer=24, parse_errors=["junk"])) is None
    assert vote_key(domain, None, Candidate(text="x", answer=[("a", ("b",))])) == vote_key(
        domain, None, Candidate(text="y", answer=[["a", ["b"]]])
    )
    assert majority([None, "b", "a", "a", "b"]) == (1, 2, 2)
    assert majority([None, None]) == (None, 0, 0)


def test_self_consistency_with_the_random_proposer(bw, sussman):
    result = SelfConsistency(
        RandomProposer(seed=0), bw, budget=Budget(samples=12), n=5, constrained="well-formed", seed=1
    ).run(sussman)
    assert result.usage.samples == 12 and result.usage.llm_calls == 3
    assert result.status in (ResultStatus.VERIFIED, ResultStatus.FAILED)
    assert result.verified is result.info["majority_certified"]
    with pytest.raises(InputError):
        SelfConsistency(RandomProposer(seed=0), bw, budget=Budget(samples=2), constrained="none").run(sussman)


# -- self-critique ------------------------------------------------------------------------------


def test_judge_accepting_an_invalid_plan_is_a_counted_false_accept(bw, sussman):
    model = _judging([BAD], [YES])
    result = SelfCritique(model, bw, budget=Budget(samples=10)).run(sussman)
    assert result.status is ResultStatus.FAILED and not result.verified and result.certificate == []
    info = result.info
    assert info["self_judged_valid"] is True
    assert (info["false_accepts"], info["false_rejects"], info["judge_calls"]) == (1, 0, 1)
    assert result.usage.samples == 2 and result.usage.llm_calls == 2 and result.usage.rounds == 1
    judge = result.trace[info["judge_attempts"][0]]
    assert judge.samples[0].completion == YES and judge.samples[0].verdicts == []  # the critics do not judge the judge
    assert result.trace[0].samples[0].verdicts[0].status is VerdictStatus.INVALID  # but they scored the candidate


def test_revision_uses_the_models_own_critique(bw, sussman, sussman_plan_text):
    model = _judging([BAD, sussman_plan_text], [NO_EXPLAINED, YES])
    result = SelfCritique(model, bw, budget=Budget(samples=10)).run(sussman)
    assert result.verified and len(result.answer) == 6
    revise = model.prompts[2]
    assert revise.messages[-2] == {"role": "assistant", "content": "[PLAN]\n" + BAD}
    critique = revise.messages[-1]["content"]
    assert "because I am not holding it" in critique
    assert "is not possible" not in critique  # the sound critic's wording never reaches the prompt
    info = result.info
    assert (info["true_rejects"], info["true_accepts"], info["judge_calls"], info["candidates"]) == (1, 1, 2, 2)
    assert result.usage.samples == 4 and result.usage.rounds == 2


def test_self_verification_collapse_is_measured(bw, sussman, sussman_plan_text):
    """The model rejects its valid plan, then accepts an invalid revision."""
    model = _judging([sussman_plan_text, BAD], ["No, the plan is not valid.", YES])
    result = SelfCritique(model, bw, budget=Budget(samples=10)).run(sussman)
    assert result.status is ResultStatus.FAILED
    assert result.info["false_rejects"] == 1 and result.info["false_accepts"] == 1
    assert result.trace[0].samples[0].certified  # a certified candidate was thrown away


def test_self_critique_exhausts_the_budget(bw, sussman):
    model = _judging(itertools.cycle([BAD]), itertools.cycle([NO_EXPLAINED]))
    result = SelfCritique(model, bw, budget=Budget(samples=5, rounds=None)).run(sussman)
    assert result.status is ResultStatus.EXHAUSTED
    assert result.usage.samples == 5 and result.usage.llm_calls == 5
    info = result.info
    assert (info["candidates"], info["judge_calls"], info["final_judged"], info["self_judged_valid"]) == (
        3,
        2,
        False,
        False,
    )


def test_rounds_budget_judges_the_last_round(bw, sussman):
    model = _judging(itertools.cycle([BAD]), itertools.cycle([NO_EXPLAINED]))
    result = SelfCritique(model, bw, budget=Budget(samples=None, rounds=2)).run(sussman)
    assert result.usage.rounds == 2 and result.usage.samples == 4 and result.info["final_judged"]
    assert [a.round for a in result.trace] == [1, 1, 2, 2]


def test_history_keeps_every_self_critique(bw, sussman):
    model = _judging(itertools.cycle([BAD]), itertools.cycle([NO_EXPLAINED]))
    SelfCritique(model, bw, budget=Budget(rounds=3), history=True).run(sussman)
    plan_prompts = [p for p in model.prompts if JUDGE_QUESTION not in p.messages[-1]["content"]]
    assert [len(p.messages) for p in plan_prompts] == [1, 3, 5]


@pytest.mark.parametrize("status", [VerdictStatus.VALID, VerdictStatus.INVALID])
def test_self_critique_decisions_ignore_the_critics(bw, sussman, sussman_plan_text, status, monkeypatch):
    def run():
        model = _judging([BAD, HALF, sussman_plan_text, BAD], ["No.", "I am not sure.", "No, wrong.", YES])
        result = SelfCritique(model, bw, budget=Budget(samples=20)).run(sussman)
        return model, result

    base_model, base = run()
    monkeypatch.setattr(bw, "critics", lambda task: [_Always(status)])
    model, flipped = run()
    assert [p.messages for p in model.prompts] == [p.messages for p in base_model.prompts]
    assert model.calls == base_model.calls
    assert flipped.answer_text == base.answer_text == "[PLAN]\n" + BAD
    said = [j["said_valid"] for j in flipped.info["judgements"]]
    assert said == [j["said_valid"] for j in base.info["judgements"]] == [False, None, False, True]
    assert base.info["false_rejects"] == 1 and base.info["unclear_judgements"] == 1
    assert flipped.verified is (status is VerdictStatus.VALID) and not base.verified


def test_self_critique_with_the_random_proposer(bw, sussman):
    result = SelfCritique(RandomProposer(seed=3), bw, budget=Budget(samples=12), constrained="well-formed", seed=0).run(
        sussman
    )
    assert result.usage.samples <= 12 and result.info["judge_calls"] >= 1
    for index in result.info["judge_attempts"]:
        text = result.trace[index].samples[0].completion
        assert text.splitlines()[0] in (JUDGE_YES, JUDGE_NO)
    if result.info["self_judged_valid"]:
        assert result.status in (ResultStatus.FAILED, ResultStatus.VERIFIED)
    else:
        assert result.status in (ResultStatus.EXHAUSTED, ResultStatus.VERIFIED)
    with pytest.raises(InputError):
        SelfCritique(RandomProposer(seed=0), bw, budget=Budget(samples=2), constrained="none").run(sussman)


def test_judge_grammar_reaches_the_model_and_is_stripped_from_the_critique(bw, sussman):
    grammars = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            grammars.append(constraint)
            return super().sample(prompt, n, params, constraint)

    model = Recorder([BAD, JUDGE_NO + "\n[END]", BAD, JUDGE_YES + "\n[END]"])
    SelfCritique(model, bw, budget=Budget(samples=4), constrained="well-formed").run(sussman)
    judge = grammars[1]
    assert judge.lines == (JUDGE_YES, JUDGE_NO) and judge.max_lines == 1 and judge.end in judge.exclude_first
    assert "pick up the red block" in grammars[0].lines
    assert model.prompts[2].messages[-1]["content"].startswith(JUDGE_NO + "\n")  # no "[END]"
    assert "[END]" not in model.prompts[2].messages[-1]["content"]


def test_planning_judge_prompt(bw, sussman):
    candidate = bw.parse(sussman, "[PLAN]\n" + BAD + "\nrambling after the end")
    text = bw.judge_prompt(sussman, candidate).messages[-1]["content"]
    assert text.startswith("I am playing with a set of blocks")
    assert text.count("[STATEMENT]") == 1  # the problem only, no worked example
    assert "[PLAN]\nstack the red block on top of the blue block\n[PLAN END]" in text
    assert "rambling" not in text
    assert text.rstrip().endswith("Is this plan valid? Answer yes or no, then explain.")


def test_self_critique_without_the_judge_hooks(bw, sussman, sussman_plan_text):
    grammars = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            grammars.append(constraint)
            return super().sample(prompt, n, params, constraint)

    def script(prompt, n):
        return [YES] if prompt.messages[-1]["content"] == self_critique.JUDGE_QUESTION else [sussman_plan_text]

    model = Recorder(script)
    result = SelfCritique(model, _NoHooks(bw), budget=Budget(samples=4), constrained="well-formed").run(sussman)
    judge_prompt = model.prompts[1]
    assert judge_prompt.messages[-2] == {"role": "assistant", "content": "[PLAN]\n" + sussman_plan_text}
    assert grammars[1] is self_critique.FALLBACK_JUDGE_CONSTRAINT
    assert result.verified and result.info["true_accepts"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, the plan is valid.", True),
        ("**No**. Step 2 fails.", False),
        ("Answer: yes", True),
        ("Verdict - No", False),
        ("The plan is invalid because ...", False),
        ("The plan is not valid.", False),
        ("This plan is valid.", True),
        ("Nothing to say", None),
        ("", None),
    ],
)
def test_parse_judgement(text, expected):
    assert parse_judgement(text) is expected


# -- chain of thought ---------------------------------------------------------------------------

COT_ANSWER = """Before step 1, the orange block is clear, the hand is empty and the orange block is on top of the red block, so I can unstack the orange block from on top of the red block.
unstack the orange block from on top of the red block
Before step 2, I hold the orange block.
put down the orange block
The blue block is clear and on the table and my hand is empty.
Action: pick up the blue block
stack the blue block on top of the orange block
Now I can take the red block, which is clear.
pick up the red block
stack the red block on top of the blue block
After step 6, the goal holds: the red block is on top of the blue block and the blue block is on top of the orange block.
[PLAN END]
"""


def test_cot_prompt_instructs_and_shows_reasoning(sussman):
    from llm_modulo.domains.blocksworld import blocksworld

    cot = blocksworld(cot=True)
    text = cot.prompt(sussman).messages[0]["content"]
    assert "Think step by step" in text and "Before step 1, the yellow block is on top of the orange block" in text
    assert "so I can unstack the yellow block from on top of the orange block.\nunstack the yellow block" in text
    assert "After step 4, the goal holds: the orange block is on top of the red block." in text
    assert cot.prompt(sussman).prefill == "[PLAN]\n"
    plain = blocksworld().prompt(sussman).messages[0]["content"]
    assert "Before step" not in plain and "Think step by step" not in plain


def test_cot_example_parses_back_to_its_plan():
    from llm_modulo.domains.blocksworld import blocksworld
    from llm_modulo.domains.planning.parse import PlanParser

    for style in ("nl", "pddl"):
        cot = blocksworld(style=style, cot=True)
        example = cot.examples[0]
        text = cot.reasoning_plan_text(example.problem, example.plan)
        assert text.count("Before step") == len(example.plan)
        parser = PlanParser(cot.vocabulary, example.problem.objects)
        assert [tuple(s) for s in parser.parse(text, reasoning=True)] == [tuple(s) for s in example.plan]


def test_direct_with_cot_finds_the_plan_among_the_reasoning(sussman):
    from llm_modulo.domains.blocksworld import blocksworld

    cot = blocksworld(cot=True)
    result = Direct(ScriptedModel([COT_ANSWER]), cot).run(sussman)
    assert result.verified and len(result.answer) == 6
    # without cot the reasoning lines are steps the critic rejects
    assert not Direct(ScriptedModel([COT_ANSWER]), get_domain("blocksworld")).run(sussman).verified


def test_cot_still_rejects_a_wrong_plan(sussman):
    from llm_modulo.domains.blocksworld import blocksworld

    cot = blocksworld(cot=True)
    wrong = COT_ANSWER.replace("put down the orange block\n", "")
    assert Direct(ScriptedModel([wrong]), cot).run(sussman).status is ResultStatus.FAILED
    empty = "I think the goal is already reached.\n[PLAN END]"
    result = Direct(ScriptedModel([empty]), cot).run(sussman)
    assert result.status is ResultStatus.FAILED and result.answer == []


def test_cot_reaches_the_factories():
    assert get_domain("blocksworld", cot=True).cot and get_domain("mystery_blocksworld", cot=True).cot
    assert not get_domain("blocksworld").cot


def test_cot_under_a_grammar_warns(sussman):
    from llm_modulo.domains.blocksworld import blocksworld

    with pytest.warns(UserWarning, match="chain-of-thought"):
        blocksworld(cot=True).constraint(sussman)
