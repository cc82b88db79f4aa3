"""The ``search`` strategy: simulator-pruned best-first search; only the critics certify."""

from __future__ import annotations

import pytest

from llm_modulo import Budget, InputError, RandomProposer, ResultStatus, ScriptedModel, VerdictStatus
from llm_modulo.registry import load_planning_instance
from llm_modulo.strategies.search import Search
from llm_modulo.verifiers.planning.reference import up_validate
from llm_modulo.verifiers.planning.validator import to_ground_action


@pytest.mark.parametrize("heuristic", ["relaxed-plan", "goal-count", "none"])
def test_random_guided_search_certifies_sussman(bw, sussman, heuristic):
    result = Search(RandomProposer(seed=0), bw, seed=0, heuristic=heuristic, model_share=float("inf")).run(sussman)
    assert result.status is ResultStatus.VERIFIED
    assert 1 <= result.usage.llm_calls <= result.usage.nodes  # forced steps (one child) are not ranked
    # independent check: unified-planning's validator accepts the certified plan
    problem = sussman.payload.problem
    assert up_validate(problem, [to_ground_action(s) for s in result.answer])


def test_search_solves_planbench_instances_and_up_agrees(planbench):
    for name in ["blocksworld/generated_basic/instance-3", "blocksworld/mystery/generated_basic/instance-7"]:
        domain, task = load_planning_instance(name)
        result = Search(RandomProposer(seed=1), domain, seed=1, budget=Budget(nodes=200)).run(task)
        assert result.verified, name
        assert up_validate(task.payload.problem, [to_ground_action(s) for s in result.answer])


def test_node_budget_is_respected(bw, planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    result = Search(RandomProposer(seed=0), domain, seed=0, heuristic="none", budget=Budget(nodes=3)).run(task)
    assert result.usage.nodes <= 3
    assert result.status is ResultStatus.EXHAUSTED
    assert result.answer is not None  # the most promising node is still judged and returned, uncertified
    assert result.certificate == []


def test_max_nodes_applies_when_budget_has_no_nodes(planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    result = Search(RandomProposer(seed=0), domain, seed=0, heuristic="none", max_nodes=2).run(task)
    assert result.usage.nodes == 2


class _RejectAll:
    """A critic that rejects every plan: search must never report success."""

    name = "reject-all"
    hard = True

    def check(self, task, candidate):
        from llm_modulo.types import Verdict

        return Verdict(status=VerdictStatus.INVALID, critic=self.name, score=0.5)


def test_search_never_verifies_what_a_critic_rejects(bw, sussman):
    class Strict(type(bw)):
        def critics(self, task):
            return [*super().critics(task), _RejectAll()]

    strict = Strict(bw.name, bw.vocabulary, bw.examples)
    result = Search(RandomProposer(seed=0), strict, seed=0, budget=Budget(nodes=50)).run(sussman)
    assert not result.verified and result.certificate == []


def test_a_model_without_score_ranks_by_samples(bw, sussman, sussman_plan_text):
    # the scripted model always proposes the Sussman plan: its first line must be tried first
    model = ScriptedModel([sussman_plan_text], cycle=True)
    result = Search(model, bw, n=2, heuristic="none", seed=0).run(sussman)
    assert result.verified
    assert result.usage.samples == 2 * result.usage.llm_calls
    first = result.trace[0].info["children"]
    assert max(first, key=first.get) == "unstack the orange block from on top of the red block"


@pytest.mark.parametrize("loved", ["unstack the orange block from on top of the red block", "pick up the blue block"])
def test_model_preferences_order_the_search(bw, sussman, loved):
    """Without a heuristic, the step the scorer prefers is expanded next."""
    from llm_modulo.protocols import ScoreBatch

    class Loves:
        name = "loves"

        def sample(self, *a, **k):  # pragma: no cover - never called: score is used
            raise AssertionError

        def score(self, prompt, continuations, seed=None):
            return ScoreBatch([0.0 if c.startswith(loved) else -5.0 for c in continuations])

    result = Search(Loves(), bw, heuristic="none", budget=Budget(nodes=2)).run(sussman)
    assert result.trace[1].info["step"] == loved and result.trace[1].info["parent"] == 0


def test_unknown_heuristic_is_a_clear_error(bw):
    with pytest.raises(InputError, match="heuristic"):
        Search(RandomProposer(), bw, heuristic="magic")


def test_the_trace_is_the_search_tree(bw, planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    result = Search(RandomProposer(seed=0), domain, seed=0, heuristic="none", budget=Budget(nodes=30)).run(task)
    expansions = [a for a in result.trace if "children" in a.info]
    assert len(expansions) == result.usage.nodes and expansions[0].prompt and expansions[0].info["parent"] == -1
    for i, attempt in enumerate(expansions[1:], start=1):
        parent = expansions[attempt.info["parent"]]
        assert attempt.info["parent"] < i and attempt.prompt == "" and attempt.prefill == ""
        assert parent.info["depth"] == attempt.info["depth"] - 1
        assert attempt.info["step"] in parent.info["children"]  # a child its parent offered


def test_a_forced_step_is_not_ranked_by_the_model():
    """Game of 24: once one number is left the answer line is the only child; the model is not asked."""
    from llm_modulo.domains.game24 import game24
    from llm_modulo.protocols import ScoreBatch

    calls: list[int] = []

    class Counting:
        name = "counting"

        def sample(self, *a, **k):  # pragma: no cover - never called: score is used
            raise AssertionError

        def score(self, prompt, continuations, seed=None):
            calls.append(len(continuations))
            return ScoreBatch([0.0] * len(continuations))

    domain = game24()
    budget = Budget(nodes=50, samples=None, rounds=None)
    result = Search(Counting(), domain, budget=budget, model_share=float("inf")).run(domain.load("4 6 1 1"))
    assert result.verified
    assert result.usage.nodes == len(calls) + 1 and min(calls) > 1  # 3 ranked steps, then the forced answer line
    assert result.usage.llm_calls == len(calls)


def test_dual_queue_with_helpful_actions(planbench):
    """FF's helpful actions are applicable steps; the dual queue certifies a Blocksworld-hard instance
    in far fewer expansions than the node budget, and unified-planning agrees with the plan."""
    domain, task = load_planning_instance("blocksworld_hard/generated/instance-5")
    guide = domain.search_guide(task, "relaxed-plan")
    guide(())
    helpful = guide.preferred(())
    applicable, _ = domain.constraint(task, executable=True).choices(())
    assert helpful and helpful <= set(applicable)
    result = Search(
        RandomProposer(seed=0), domain, seed=0, queues="dual", budget=Budget(nodes=400, samples=None, rounds=None)
    ).run(task)
    assert result.verified and result.config["queues"] == "dual"
    assert up_validate(task.payload.problem, [to_ground_action(s) for s in result.answer])
    with pytest.raises(InputError, match="queues"):
        Search(RandomProposer(), domain, queues="triple")


class _Slow:
    """A scorer that takes ``seconds`` a call and prefers the last child (unlike the control)."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls = seconds, 0

    def sample(self, *a, **k):  # pragma: no cover - never called: score is used
        raise AssertionError

    def score(self, prompt, continuations, seed=None):
        import time

        from llm_modulo.protocols import ScoreBatch

        self.calls += 1
        time.sleep(self.seconds)
        return ScoreBatch([-float(len(continuations) - i) for i in range(len(continuations))])


def test_a_model_not_worth_its_time_is_not_waited_on(planbench):
    """Share 0: the model is never asked, and the search is exactly the random control's."""
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    slow = _Slow(0.01)
    budget = Budget(nodes=300, samples=None, rounds=None)
    result = Search(slow, domain, seed=3, budget=budget, model_share=0.0).run(task)
    control = Search(RandomProposer(), domain, seed=3, budget=budget, model_share=float("inf")).run(task)
    assert slow.calls == 0 and result.usage.llm_calls == 0 and result.info["model_asked"] == 0
    assert result.info["model_skipped"] > 0
    assert result.verified and result.answer == control.answer and result.usage.nodes == control.usage.nodes
    assert not any(a.info.get("model") for a in result.trace)


def test_the_model_takes_at_most_its_share_of_the_time(planbench, monkeypatch):
    """Share 1: the model's seconds stay within the search's own time (plus one call's misestimate)."""
    from llm_modulo.strategies import model_time

    monkeypatch.setattr(model_time, "FIRST_SECONDS_PER_CHAR", 1e-5)
    domain, task = load_planning_instance("blocksworld_hard/generated/instance-5")
    slow = _Slow(0.02)
    budget = Budget(nodes=400, samples=None, rounds=None)
    result = Search(slow, domain, seed=0, budget=budget, model_share=1.0).run(task)
    asked, spent = result.info["model_asked"], result.info["model_seconds"]
    assert asked == slow.calls == result.usage.llm_calls
    assert 0 < asked and result.info["model_skipped"] > 0  # asked sometimes, not always
    own = result.usage.seconds - spent
    assert spent <= 1.0 * own + 0.05
    flags = [a.info["model"] for a in result.trace if "children" in a.info and len(a.info["children"]) > 1]
    assert sum(flags) == asked


def test_the_trace_keeps_estimates_and_pruned_steps(planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    result = Search(RandomProposer(seed=0), domain, seed=0, budget=Budget(nodes=40)).run(task)
    guide = domain.search_guide(task, "relaxed-plan")
    paths: dict[int, tuple[str, ...]] = {}
    saw_pruned = False
    for i, attempt in enumerate(result.trace):
        info = attempt.info
        if "children" not in info:
            continue
        lines = (*paths[info["parent"]], info["step"]) if info["parent"] >= 0 else ()
        paths[i] = lines
        assert set(info["estimates"]) == set(info["children"])
        for line, h in info["estimates"].items():
            assert h == guide((*lines, line))[1]  # the heuristic's value, recomputed independently
        saw_pruned |= bool(info["pruned"])
        assert not set(info["pruned"]) & set(info["children"])
    assert saw_pruned  # Blocksworld revisits states: some steps are pruned


def test_loading_the_weights_is_not_charged_to_the_model(planbench, monkeypatch):
    """A lazy model's load() runs before its first call is timed: a slow load does not use up its share."""
    from llm_modulo.strategies import model_time

    monkeypatch.setattr(model_time, "FIRST_SECONDS_PER_CHAR", 1e-7)

    class Lazy(_Slow):
        loads = 0

        def load(self):
            import time

            Lazy.loads += 1
            time.sleep(0.3)
            return self

    domain, task = load_planning_instance("blocksworld_hard/generated/instance-5")
    lazy = Lazy(0.0)
    result = Search(lazy, domain, seed=0, budget=Budget(nodes=200, samples=None, rounds=None), model_share=1.0).run(
        task
    )
    assert Lazy.loads == 1 and result.info["model_asked"] > 1
    assert result.info["model_load_seconds"] >= 0.3  # accounted apart from the calls
    assert result.info["model_skipped"] < result.info["model_asked"]  # not in the expected cost of a call


def test_the_share_in_force_is_in_the_results_config(bw, sussman):
    """The resolved share is stored, infinity as "inf" (JSON's null would read back as the default)."""
    import json

    unbounded = Search(RandomProposer(seed=0), bw, seed=0, heuristic="none").run(sussman)
    assert json.loads(unbounded.model_dump_json())["config"]["model_share"] == "inf"
    default = Search(RandomProposer(seed=0), bw, seed=0).run(sussman)
    assert json.loads(default.model_dump_json())["config"]["model_share"] == 2.0
