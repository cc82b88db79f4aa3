"""The loop with the scripted model: statuses, budgets, feedback, prefix reuse, the certification guarantee."""

from __future__ import annotations

import pytest

from llm_modulo import (
    BestOfN,
    Budget,
    CriticError,
    Direct,
    FeedbackLevel,
    Modulo,
    ResultStatus,
    SamplingParams,
    ScriptedModel,
    Verdict,
    VerdictStatus,
)

BAD = "stack the red block on top of the blue block\n[PLAN END]"  # not holding red
HALF = "unstack the orange block from on top of the red block\nput down the orange block\nstack the red block on top of the blue block\n[PLAN END]"


def test_direct_verifies_a_correct_plan(bw, sussman, sussman_plan_text):
    result = Direct(ScriptedModel([sussman_plan_text]), bw).run(sussman)
    assert result.status is ResultStatus.VERIFIED
    assert len(result.answer) == 6
    assert result.certificate and all(v.valid and v.hard for v in result.certificate)
    assert result.usage.samples == 1 and result.usage.llm_calls == 1


def test_direct_reports_failure_honestly(bw, sussman):
    result = Direct(ScriptedModel([BAD]), bw).run(sussman)
    assert result.status is ResultStatus.FAILED
    assert not result.verified and result.certificate == []
    assert result.trace[0].samples[0].verdicts[0].status is VerdictStatus.INVALID


def test_best_of_n_returns_first_accepted(bw, sussman, sussman_plan_text):
    model = ScriptedModel([BAD, BAD, BAD, sussman_plan_text, BAD])
    result = BestOfN(model, bw, budget=Budget(samples=10, rounds=None), n=2).run(sussman)
    assert result.verified
    assert model.calls == [2, 2]
    assert result.usage.samples == 4


def test_best_of_n_exhausts_sample_budget(bw, sussman):
    model = ScriptedModel([BAD], cycle=True)
    result = BestOfN(model, bw, budget=Budget(samples=5, rounds=None), n=2).run(sussman)
    assert result.status is ResultStatus.EXHAUSTED
    assert model.calls == [2, 2, 1]
    assert result.usage.samples == 5


def test_token_budget_stops_the_run(bw, sussman):
    model = ScriptedModel([BAD], cycle=True)
    result = BestOfN(model, bw, budget=Budget(samples=None, rounds=None, tokens=30), n=1).run(sussman)
    assert result.status is ResultStatus.EXHAUSTED
    assert 30 <= result.usage.generated_tokens < 30 + 12


def test_modulo_backprompts_first_error_in_vocabulary(bw, sussman, sussman_plan_text):
    model = ScriptedModel([BAD, sussman_plan_text])
    result = Modulo(model, bw, budget=Budget(rounds=5), n=1, feedback="first").run(sussman)
    assert result.verified and result.usage.rounds == 2
    second = model.prompts[1]
    assert second.messages[1] == {"role": "assistant", "content": "[PLAN]\n" + BAD}
    critique = second.messages[2]["content"]
    assert "Step 1, stack the red block on top of the blue block, is not possible" in critique
    assert "the hand is not currently holding red block" in critique


@pytest.mark.parametrize(
    ("level", "expected", "absent"),
    [
        ("none", "Please try again.", "not valid"),
        ("binary", "The plan is not valid.", "Step"),
        ("first", "Step 3, stack the red block on top of the blue block, is not possible", "goal"),
        ("all", "The goal is not reached: the red block is not on top of the blue block", "try again"),
    ],
)
def test_feedback_levels(bw, sussman, level, expected, absent):
    model = ScriptedModel([HALF, HALF])
    Modulo(model, bw, budget=Budget(rounds=2), n=1, feedback=level).run(sussman)
    critique = model.prompts[1].messages[-1]["content"]
    assert expected in critique
    assert absent not in critique


def test_all_level_lists_every_failing_step(bw, sussman):
    two_bad = "stack the red block on top of the blue block\npick up the red block\n[PLAN END]"
    model = ScriptedModel([two_bad, two_bad])
    Modulo(model, bw, budget=Budget(rounds=2), n=1, feedback=FeedbackLevel.ALL).run(sussman)
    critique = model.prompts[1].messages[-1]["content"]
    assert "Step 1," in critique and "Step 2," in critique


def test_history_keeps_every_round(bw, sussman):
    model = ScriptedModel([BAD, HALF, BAD])
    Modulo(model, bw, budget=Budget(rounds=3), n=1, history=True).run(sussman)
    assert len(model.prompts[2].messages) == 5  # question + 2 x (answer, critique)
    model = ScriptedModel([BAD, HALF, BAD])
    Modulo(model, bw, budget=Budget(rounds=3), n=1, history=False).run(sussman)
    assert len(model.prompts[2].messages) == 3


def test_reuse_prefix_continues_from_valid_steps(bw, sussman):
    rest = "pick up the blue block\nstack the blue block on top of the orange block\npick up the red block\nstack the red block on top of the blue block\n[PLAN END]"
    model = ScriptedModel([HALF, rest])
    result = Modulo(model, bw, budget=Budget(rounds=3), n=1, reuse_prefix=True).run(sussman)
    assert model.prompts[1].prefill == (
        "[PLAN]\nunstack the orange block from on top of the red block\nput down the orange block\n"
    )
    assert result.verified and len(result.answer) == 6
    assert result.answer_text.startswith(model.prompts[1].prefill)


def test_seeds_differ_per_call_and_are_reproducible(bw, sussman):
    seen: list[int | None] = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            seen.append(params.seed)
            return super().sample(prompt, n, params, constraint)

    Modulo(Recorder([BAD], cycle=True), bw, budget=Budget(rounds=3), n=1, seed=7).run(sussman)
    assert len(set(seen)) == 3
    first = list(seen)
    seen.clear()
    Modulo(Recorder([BAD], cycle=True), bw, budget=Budget(rounds=3), n=1, seed=7).run(sussman)
    assert seen == first


class _LyingCritic:
    """Says VALID once, INVALID when asked again: the re-check must catch it."""

    name, hard = "liar", True

    def __init__(self) -> None:
        self.calls = 0

    def check(self, task, candidate):
        self.calls += 1
        status = VerdictStatus.VALID if self.calls == 1 else VerdictStatus.INVALID
        return Verdict(status=status, critic=self.name, score=1.0 if self.calls == 1 else 0.0)


class _SoftOnlyCritic:
    name, hard = "style", False

    def check(self, task, candidate):
        return Verdict(status=VerdictStatus.VALID, critic=self.name, hard=False, score=1.0)


def test_no_hard_critic_means_never_verified(bw, sussman, sussman_plan_text, monkeypatch):
    monkeypatch.setattr(bw, "critics", lambda task: [_SoftOnlyCritic()])
    result = BestOfN(ScriptedModel([sussman_plan_text]), bw, budget=Budget(samples=1)).run(sussman)
    assert result.status is ResultStatus.EXHAUSTED


def test_soft_critic_cannot_override_hard_invalid(bw, sussman, monkeypatch):
    from llm_modulo.verifiers.planning.critic import PlanCritic

    monkeypatch.setattr(bw, "critics", lambda task: [PlanCritic(), _SoftOnlyCritic()])
    result = BestOfN(ScriptedModel([BAD]), bw, budget=Budget(samples=1)).run(sussman)
    assert not result.verified


def test_inconsistent_critic_refuses_to_certify(bw, sussman, sussman_plan_text, monkeypatch):
    liar = _LyingCritic()
    monkeypatch.setattr(bw, "critics", lambda task: [liar])
    with pytest.raises(CriticError):
        Direct(ScriptedModel([sussman_plan_text]), bw).run(sussman)


def test_sampling_params_reach_the_model(bw, sussman):
    got = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            got.append((params.temperature, params.max_tokens, constraint))
            return super().sample(prompt, n, params, constraint)

    Direct(Recorder([BAD]), bw, params=SamplingParams(temperature=0.3, max_tokens=17), constrained=True).run(sussman)
    temperature, max_tokens, constraint = got[0]
    assert (temperature, max_tokens) == (0.3, 17)
    assert constraint is not None and "pick up the red block" in constraint.lines


def test_stuck_prefix_backtracks_and_excludes_the_dead_end(bw, sussman):
    """A model that always stops: the loop walks back one step and excludes that step there."""
    first = "unstack the orange block from on top of the red block\nput down the orange block\n[PLAN END]"
    grammars = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            grammars.append((prompt.prefill, constraint))
            return super().sample(prompt, n, params, constraint)

    model = Recorder([first] + ["[PLAN END]"] * 5)
    Modulo(model, bw, budget=Budget(rounds=4), n=1, constrained="executable", reuse_prefix=True).run(sussman)
    prefills = [p for p, _ in grammars]
    assert prefills[1] == "[PLAN]\nunstack the orange block from on top of the red block\nput down the orange block\n"
    assert prefills[2] == "[PLAN]\nunstack the orange block from on top of the red block\n"  # backtracked
    assert "put down the orange block" in grammars[2][1].exclude_first
    allowed, _ = grammars[2][1].next_lines(())
    assert "put down the orange block" in allowed  # the simulator allows it; the exclusion removes it


def test_a_prefix_with_no_step_left_is_backed_off_without_spending_a_round(bw, sussman):
    """A plan that ends in a state from which every executable step leads back to a visited state:
    continuing from it could only stop there again, so the next round starts where a step is left."""
    dead = (
        "unstack the orange block from on top of the red block\nput down the orange block\n"
        "pick up the red block\nstack the red block on top of the blue block\n"
        "pick up the orange block\nstack the orange block on top of the red block\n[PLAN END]"
    )
    prefills = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            prefills.append(prompt.prefill)
            return super().sample(prompt, n, params, constraint)

    model = Recorder([dead, "[PLAN END]"])
    result = Modulo(model, bw, budget=Budget(rounds=2), n=1, constrained="executable", reuse_prefix=True).run(sussman)
    # 6 steps, 5, 4: dead ends (each next step revisits a state); 3 steps: stacking red on orange is new
    head = "\n".join(dead.splitlines()[:3])
    assert prefills == ["[PLAN]\n", f"[PLAN]\n{head}\n"]
    assert result.usage.rounds == 2 and not result.verified


@pytest.mark.parametrize("retry", [True, False])
def test_retry_excluded_decodes_the_same_prefix_again_without_the_rejected_stop(bw, sussman, sussman_plan_text, retry):
    """A model that stops short right after its best prefix: with ``retry_excluded`` the next round
    starts from that prefix again with the end marker excluded (and the rest of the plan then
    certifies); without it the loop backtracks a line, as before."""
    steps = sussman_plan_text.splitlines()
    head = "\n".join(steps[:2]) + "\n[PLAN END]"
    rest = "\n".join(steps[2:])
    grammars = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            grammars.append((prompt.prefill, constraint))
            return super().sample(prompt, n, params, constraint)

    model = Recorder([head, "[PLAN END]", rest])
    result = Modulo(
        model, bw, budget=Budget(rounds=3), n=1, constrained="executable", reuse_prefix=True, retry_excluded=retry
    ).run(sussman)
    prefix = "[PLAN]\n" + "\n".join(steps[:2]) + "\n"
    assert [p for p, _ in grammars][:2] == [grammars[0][0], prefix]
    if retry:
        assert grammars[2][0] == prefix
        assert "[PLAN END]" in grammars[2][1].exclude_first
        assert result.verified and len(result.answer) == len(steps) - 1
    else:
        assert grammars[2][0] == "[PLAN]\n" + steps[0] + "\n"  # backtracked
        assert not result.verified


@pytest.mark.parametrize("remember", [True, False])
def test_remember_rejected_excludes_each_first_error_after_its_own_steps(bw, sussman, sussman_plan_text, remember):
    """The whole plan rewritten each round (no prefix reuse): with ``remember_rejected`` every later
    grammar rules out the step the critics rejected, right after the exact steps that led to it."""
    steps = sussman_plan_text.splitlines()
    bad = "stack the red block on top of the red block"
    wrong = "\n".join([*steps[:2], bad, "[PLAN END]"])
    stops = "\n".join([*steps[:3], "[PLAN END]"])
    grammars = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            grammars.append(constraint)
            return super().sample(prompt, n, params, constraint)

    model = Recorder([wrong, stops, sussman_plan_text])
    result = Modulo(
        model,
        bw,
        budget=Budget(rounds=3),
        n=1,
        constrained="well-formed",
        remember_rejected=remember,
        reuse_prefix=False,
    ).run(sussman)
    assert result.verified and len(grammars) == 3
    assert not grammars[0].exclude_after
    if remember:
        assert grammars[1].exclude_after == {(tuple(steps[:2]), bad)}
        assert grammars[2].exclude_after == {(tuple(steps[:2]), bad), (tuple(steps[:3]), "[PLAN END]")}
        assert bad not in grammars[2].choices(tuple(steps[:2]))[0]
        assert not grammars[2].choices(tuple(steps[:3]))[1]  # stopping there was rejected
        assert bad in grammars[2].choices(tuple(steps[:1]))[0]  # only after those exact steps
    else:
        assert not grammars[1].exclude_after and not grammars[2].exclude_after


@pytest.mark.parametrize("backprompt", [True, False])
def test_without_backprompt_every_round_asks_the_task_prompt_and_the_critics_act_on_decoding(
    bw, sussman, sussman_plan_text, backprompt
):
    """``backprompt=False``: no rejected plan or critique in any later prompt, the same prompt as the
    first round's, while the grammar still rules out the step the critics rejected."""
    steps = sussman_plan_text.splitlines()
    bad = "stack the red block on top of the red block"
    wrong = "\n".join([*steps[:2], bad, "[PLAN END]"])
    seen = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            seen.append((prompt, constraint))
            return super().sample(prompt, n, params, constraint)

    result = Modulo(Recorder([wrong, sussman_plan_text]), bw, budget=Budget(rounds=3), n=1, constrained="well-formed",
                    remember_rejected=True, backprompt=backprompt, reuse_prefix=False).run(sussman)  # fmt: skip
    assert result.verified and len(seen) == 2
    (first, _), (second, grammar) = seen
    assert grammar.exclude_after == {(tuple(steps[:2]), bad)}
    if backprompt:
        assert len(second.messages) == 3 and bad in second.messages[1]["content"]
        assert "not valid" in second.messages[2]["content"]
    else:
        assert second == first and len(second.messages) == 1
    assert result.config["backprompt"] is backprompt


@pytest.mark.parametrize(
    ("constrained", "exclude_rejected", "warned"),
    [("none", True, True), ("well-formed", False, True), ("well-formed", True, False)],
)
def test_modulo_warns_when_the_critics_cannot_reach_the_model(bw, caplog, constrained, exclude_rejected, warned):
    """No back-prompt and no decoding exclusions: every round is best-of-n, which the user is told."""
    with caplog.at_level("WARNING", logger="llm_modulo.strategies.modulo"):
        Modulo(
            ScriptedModel(["[PLAN END]"]),
            bw,
            constrained=constrained,
            exclude_rejected=exclude_rejected,
            backprompt=False,
        )
        Modulo(
            ScriptedModel(["[PLAN END]"]), bw, constrained=constrained, exclude_rejected=exclude_rejected
        )  # back-prompted: fine
    assert (len(caplog.records) == 1) is warned
    assert all("cannot reach the model" in r.getMessage() for r in caplog.records)


def test_remembered_rules_never_come_from_backtracking(bw, sussman, sussman_plan_text):
    """Backtracking rules a line out by heuristic (the model stalled after it), not because the
    critics rejected it: ``exclude_first`` may carry it, ``exclude_after`` (sound rules) never."""
    steps = sussman_plan_text.splitlines()
    grammars = []

    class Recorder(ScriptedModel):
        def sample(self, prompt, n, params, constraint=None):
            grammars.append(constraint)
            return super().sample(prompt, n, params, constraint)

    head = "\n".join(steps[:2]) + "\n[PLAN END]"
    Modulo(Recorder([head, "[PLAN END]", "[PLAN END]"]), bw, budget=Budget(rounds=3), n=1, constrained="executable",
           reuse_prefix=True, remember_rejected=True).run(sussman)  # fmt: skip
    assert steps[1] in grammars[2].exclude_first  # backtracked from after steps[:2] to after steps[:1]
    assert all(line != steps[1] for _, line in grammars[2].exclude_after)
    assert ((steps[1],), "[PLAN END]") in grammars[2].exclude_after  # the critics' finding, relative to the prefix


def test_goal_reached_inside_a_wandering_candidate_is_found(bw, sussman, sussman_plan_text):
    wander = sussman_plan_text.replace("[PLAN END]", "unstack the red block from on top of the blue block\n[PLAN END]")
    result = Modulo(ScriptedModel([wander]), bw, budget=Budget(rounds=3), n=1, reuse_prefix=True).run(sussman)
    assert result.verified and len(result.answer) == 6 and result.usage.llm_calls == 1
