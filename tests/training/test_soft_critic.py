"""The learned soft critic: it ranks best-of-n's samples, and it never certifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llm_modulo import BestOfN, Budget, ResultStatus, ScriptedModel, Verdict, VerdictStatus
from llm_modulo.errors import InputError, OptionError
from llm_modulo.training.soft_critic import LearnedCritic, SoftHead, candidate_features, fit_head
from llm_modulo.types import Candidate, Task

BAD = "stack the blue block on top of the red block\n[PLAN END]"  # not holding blue
WORSE = "pick up the red block\n[PLAN END]"  # red is not clear


class Adoring:
    """A soft critic that loves the invalid ``BAD`` (VALID, score 1) and dislikes everything else."""

    name = "adoring"
    hard = False

    def __init__(self) -> None:
        self.seen: list[str] = []

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        self.seen.append(candidate.text)
        loved = BAD.splitlines()[0] in candidate.text
        return Verdict(status=VerdictStatus.VALID if loved else VerdictStatus.UNKNOWN, critic=self.name,
                       hard=False, score=1.0 if loved else 0.1)  # fmt: skip


def _critics(bw: Any, task: Task, soft: Any) -> list[Any]:
    return [*bw.critics(task), soft]


def test_a_candidate_the_scorer_loves_but_the_validator_rejects_is_never_verified(bw, sussman):
    adoring = Adoring()
    model = ScriptedModel([BAD], cycle=True)
    result = BestOfN(model, bw, budget=Budget(samples=4, rounds=None), n=2, rank="soft",
                     critics=_critics(bw, sussman, adoring)).run(sussman)  # fmt: skip
    assert result.status is ResultStatus.EXHAUSTED and not result.verified and result.certificate == []
    assert len(adoring.seen) == 4
    for sample in (s for a in result.trace for s in a.samples):
        assert not sample.certified
        assert any(v.hard and v.status is VerdictStatus.INVALID for v in sample.verdicts)


def test_soft_rank_checks_the_loved_sample_first_then_certifies_the_valid_one(bw, sussman, sussman_plan_text):
    model = ScriptedModel([sussman_plan_text, BAD, WORSE])
    result = BestOfN(model, bw, budget=Budget(samples=3), n=3, rank="soft",
                     critics=_critics(bw, sussman, Adoring())).run(sussman)  # fmt: skip
    assert result.verified
    attempt = result.trace[0]
    assert attempt.info["order"][0] == 1  # the loved BAD first, rejected by the validator
    assert attempt.info["checked"] == 2  # the valid plan next (0.1 ties with WORSE; the sort is stable)
    assert result.chosen == (0, 0)
    assert not any(v.hard for v in attempt.samples[2].verdicts)  # never checked: not certified either
    assert not attempt.samples[2].certified


def test_sampled_rank_is_the_default_and_unchanged(bw, sussman, sussman_plan_text):
    model = ScriptedModel([BAD, sussman_plan_text])
    result = BestOfN(model, bw, budget=Budget(samples=2), n=2).run(sussman)
    assert result.verified and result.config["rank"] == "sampled"
    assert "order" not in result.trace[0].info
    assert all(any(v.hard for v in s.verdicts) for s in result.trace[0].samples)


def test_random_and_logprob_ranks(bw, sussman, sussman_plan_text):
    result = BestOfN(ScriptedModel([BAD, BAD, sussman_plan_text]), bw, budget=Budget(samples=3), n=3,
                     rank="random").run(sussman)  # fmt: skip
    assert result.verified and sorted(result.trace[0].info["order"]) == [0, 1, 2]
    with pytest.raises(InputError, match="score"):
        BestOfN(ScriptedModel([BAD]), bw, budget=Budget(samples=1), n=1, rank="logprob").run(sussman)
    with pytest.raises(OptionError):
        BestOfN(ScriptedModel([BAD]), bw, n=1, rank="best")


def test_head_fits_saves_and_loads(tmp_path: Path):
    rows = [[float(i % 2), 0.5 * i] for i in range(20)]
    head = fit_head(rows, [i % 2 == 1 for i in range(20)], card={"note": "toy"})
    p = head.probabilities(rows)
    assert all(p[i] > 0.5 for i in range(1, 20, 2)) and all(p[i] < 0.5 for i in range(0, 20, 2))
    again = SoftHead.load(head.save(tmp_path / "head.json"))
    assert again.probabilities(rows) == pytest.approx(p) and again.card["note"] == "toy"
    with pytest.raises(InputError):
        again.probabilities([[1.0]])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        SoftHead.load(tmp_path / "bad.json")


def test_learned_critic_on_a_tiny_model_is_soft_and_never_certifies(lm, bw, sussman, sussman_plan_text):
    prompt = bw.prompt(sussman)
    scored = candidate_features(lm, prompt, [BAD, sussman_plan_text])
    width = lm._model.config.hidden_size + 2
    assert [len(s.features) for s in scored] == [width, width] and all(s.logprob < 0 for s in scored)
    # the head's log-probability feature agrees with the backend's own scorer
    assert scored[0].logprob == pytest.approx(lm.score(prompt, [BAD]).logprobs[0], abs=1e-3)
    head = SoftHead([0.0] * width, [1.0] * width, [0.0] * width, 50.0, {})  # it loves everything
    critic = LearnedCritic(lm, bw, head)
    assert critic.hard is False
    result = BestOfN(ScriptedModel([BAD], cycle=True), bw, budget=Budget(samples=2), n=2, rank="soft",
                     critics=_critics(bw, sussman, critic)).run(sussman)  # fmt: skip
    assert not result.verified
    assert all(v.score == pytest.approx(1.0) for s in result.trace[0].samples for v in s.verdicts if not v.hard)
