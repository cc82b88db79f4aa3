"""The domain contract, the core feedback policy, the options models and critics passed to a strategy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llm_modulo import BestOfN, Budget, Direct, Modulo, ScriptedModel, SelfConsistency
from llm_modulo.contract import CAPABILITIES, DomainContractError, check_domain
from llm_modulo.domain import BaseDomain
from llm_modulo.errors import InputError, OptionError
from llm_modulo.feedback import Wording, domain_critique, render_critique
from llm_modulo.protocols import Feedback, LineConstraint, Prompt
from llm_modulo.strategies.options import DEFAULT_MAX_TOKENS, OPTIONS, ModuloOptions, StrategyOptions
from llm_modulo.types import Candidate, FeedbackLevel, Task, Verdict, VerdictStatus, Violation
from tests.core.toy_domain import END, SumCritic, ToyDomain


class Sums(BaseDomain):
    """The toy task written against the new contract: four methods and a wording."""

    name = "sums"
    wording = Wording(rejected="The digits are wrong.", accepted="The digits are right.")

    def instructions(self, task: Task) -> str:
        return f"Two digits that add up to {task.payload}?"

    def parse(self, task: Task, text: str) -> Candidate:
        digits = [int(t) for t in text.split() if t.isdigit()]
        return Candidate(text=text, answer=digits or None)

    def critics(self, task: Task) -> list[Any]:
        return [SumCritic()]

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        return f"those digits {violation.message}"


TASK = Task(id="sum-5", domain="sums", payload=5)


# -- soundness: the critic's declared kind rules ---------------------------------------------------
class LyingSoftCritic:
    """Not a BaseCritic: declares itself soft, returns a Verdict whose ``hard`` defaults to True, and accepts anything."""

    name = "lenient"
    hard = False

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        return Verdict(status=VerdictStatus.VALID, critic="lenient", score=1.0)


class OnlySoft(Sums):
    def critics(self, task: Task) -> list[Any]:
        return [LyingSoftCritic()]


def test_a_soft_critic_never_certifies_whatever_its_verdict_says():
    result = BestOfN(ScriptedModel(["9 9"]), OnlySoft(), budget=Budget(samples=1), n=1).run(TASK)
    assert not result.verified
    assert all(not v.hard for s in result.trace[0].samples for v in s.verdicts)


def test_a_soft_critic_beside_a_hard_one_cannot_outvote_it():
    class Both(Sums):
        def critics(self, task: Task) -> list[Any]:
            return [SumCritic(), LyingSoftCritic()]

    assert not BestOfN(ScriptedModel(["9 9"]), Both(), budget=Budget(samples=1), n=1).run(TASK).verified
    assert BestOfN(ScriptedModel(["2 3"]), Both(), budget=Budget(samples=1), n=1).run(TASK).verified


# -- critics given to the strategy -----------------------------------------------------------------
def test_critics_passed_to_a_strategy_replace_the_domains():
    class RejectAll:
        name = "reject-all"
        hard = True

        def check(self, task: Task, candidate: Candidate) -> Verdict:
            return Verdict(status=VerdictStatus.INVALID, critic=self.name, violations=[Violation(kind="nope")])

    right = ScriptedModel(["2 3"])
    assert not BestOfN(right, Sums(), budget=Budget(samples=1), n=1, critics=[RejectAll()]).run(TASK).verified
    result = BestOfN(ScriptedModel(["2 3"]), Sums(), budget=Budget(samples=1), n=1).run(TASK)
    assert result.verified and [v.critic for v in result.certificate] == ["sum"]
    with pytest.raises(InputError, match="check"):
        BestOfN(right, Sums(), critics=[object()])


# -- the contract, checked before any model call ----------------------------------------------------
def test_a_missing_required_method_is_one_line_before_any_call():
    class NoParse:
        name = "broken"

        def prompt(self, task: Task, feedback: Sequence[Feedback] = (), prefill: str = "") -> Prompt:
            return Prompt(messages=())

        def critics(self, task: Task) -> list[Any]:
            return []

    model = ScriptedModel(["1 4"])
    with pytest.raises(DomainContractError, match=r"lacks parse\(\)"):
        Direct(model, NoParse())
    assert model.calls == []


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"constrained": "well-formed"}, "constraint"),
        ({"constrained": "executable"}, "constraint"),
        ({"constrained": "none", "reuse_prefix": True}, "valid_prefix"),
        ({"constrained": "none", "remember_rejected": True}, "valid_prefix"),
    ],
)
def test_a_capability_an_option_needs_is_checked_when_the_strategy_is_built(options, missing):
    with pytest.raises(DomainContractError, match=rf"lacks {missing}\(\), which .* needs"):
        Modulo(ScriptedModel([]), Sums(), **options)


def test_defaults_fall_back_to_what_the_domain_offers():
    """A four-method domain runs with every default: no grammar (auto), no prefix reuse."""
    strategy = Modulo(ScriptedModel(["9 9", "1 4"]), Sums(), budget=Budget(rounds=2), n=1)
    assert strategy.constrained == "none" and strategy.reuse_prefix is False
    result = strategy.run(TASK)
    assert result.verified
    # the second prompt carries the core policy's critique in the domain's words
    assert "The digits are wrong. Those digits adds up to 18, not 5." in strategy.model.prompts[1].render_plain()
    # the toy domain (with a grammar and valid_prefix) gets the strongest of each
    toy = Modulo(ScriptedModel([]), ToyDomain())
    assert toy.constrained == "executable" and toy.reuse_prefix is True


def test_every_capability_is_documented_with_its_use():
    for name, capability in CAPABILITIES.items():
        assert capability.name == name and capability.used_by
    check_domain(Sums())  # the base class satisfies the required part


# -- the feedback policy, once in the core -----------------------------------------------------------
def _verdict(*violations: Violation, hard: bool = True) -> Verdict:
    return Verdict(status=VerdictStatus.INVALID, critic="c", hard=hard, violations=list(violations))


def test_feedback_levels_choose_and_order_the_violations():
    goal = Violation(kind="unmet_goal", message="the goal is not reached")
    late = Violation(kind="inapplicable", step=3, message="step 3 fails")
    early = Violation(kind="inapplicable", step=1, message="step 1 fails")
    advice = Violation(kind="long", message="shorter is better")
    verdicts = [_verdict(goal, late, early), _verdict(advice, hard=False)]
    cand = Candidate(text="x", answer=[1])

    def describe(task: Task, candidate: Candidate, v: Violation) -> str:
        return v.message

    def say(level: str) -> str:
        return render_critique(TASK, cand, verdicts, level, describe, Wording(rejected="No."))

    assert say("none") == "Please try again."
    assert say("binary") == "No."
    assert say("first") == "No. Step 1 fails. Advice: shorter is better."
    assert say("all") == "No. Step 1 fails. Step 3 fails. The goal is not reached. Advice: shorter is better."


def test_a_domain_with_its_own_critique_keeps_it():
    """The contract before the core policy existed: ``critique`` on the domain still rules."""
    cand = Candidate(text="9 9", answer=[9, 9])
    verdicts = [SumCritic().check(TASK, cand)]
    assert domain_critique(ToyDomain(), TASK, cand, verdicts, FeedbackLevel.FIRST) == "adds up to 18, not 5"


# -- options: one model, one set of defaults ---------------------------------------------------------
def test_one_set_of_defaults_shared_by_every_strategy():
    for cls in OPTIONS.values():
        defaults = cls()
        # max_tokens None: "auto", the domain's bound for the task (see tests/core/test_max_tokens.py)
        assert (defaults.n, defaults.temperature, defaults.max_tokens, defaults.seed) == (16, 1.0, None, 0)
    strategy = Direct(ScriptedModel([]), Sums())
    assert strategy.params.temperature == 1.0 and strategy.n == 16
    assert strategy.max_tokens_for(TASK) == DEFAULT_MAX_TOKENS == 256  # Sums bounds no answer


def test_options_reject_unknown_names_and_bad_values_in_one_line():
    with pytest.raises(OptionError, match="best-of-n has no option 'feedback'"):
        BestOfN(ScriptedModel([]), Sums(), feedback="all")
    with pytest.raises(OptionError, match="n"):
        Modulo(ScriptedModel([]), Sums(), n=0)
    with pytest.raises(OptionError, match="temperature"):
        Modulo(ScriptedModel([]), Sums(), temperature=float("nan"))
    with pytest.raises(OptionError, match="takes ModuloOptions"):
        Modulo(ScriptedModel([]), Sums(), options=StrategyOptions())


def test_an_options_model_and_overrides_build_the_same_strategy():
    a = Modulo(ScriptedModel([]), Sums(), options=ModuloOptions(n=4, feedback="all", constrained="none"))
    b = Modulo(ScriptedModel([]), Sums(), n=4, feedback="all", constrained="none")
    assert a.config() == b.config() and a.feedback is FeedbackLevel.ALL


def test_the_result_points_at_the_chosen_sample():
    result = SelfConsistency(ScriptedModel(["9 9", "1 4", "1 4"]), Sums(), budget=Budget(samples=3), n=3).run(TASK)
    assert result.chosen is not None
    attempt, sample = result.chosen
    assert result.trace[attempt].samples[sample].candidate.text == result.answer_text == "1 4"


def test_verdicts_stored_before_progress_was_typed_still_read():
    old = {
        "status": "invalid",
        "critic": "plan-validator",
        "info": {"valid_prefix_len": 2, "best_prefix_len": 1, "plan_len": 4},
    }
    progress = Verdict.model_validate(old).progress
    assert progress is not None and (progress.valid, progress.best, progress.length) == (2, 1, 4)


def test_line_constraint_is_reexported_for_user_grammars():
    grammar = LineConstraint(lines=("1", "2"), end=END, max_lines=2)
    assert grammar.choices(()) == (["1", "2"], True)


@pytest.mark.parametrize(
    "fields",
    [
        {"round": 3},
        {"rounds": 0},
        {"samples": -1},
        {"tokens": 0},
        {"nodes": 0},
        {"seconds": 0},
        {"seconds": float("nan")},
    ],
)
def test_a_budget_rejects_typos_and_limits_out_of_range(fields):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Budget(**fields)
    assert Budget(rounds=None, samples=None).samples is None  # None: unlimited
