"""Reinforcement with the verifier's reward: GRPO on LoRA weights, from a trained planner adapter.

Per update, generated Blocksworld problems (never test instances: the canonical-key exclusion of
:mod:`llm_modulo.training.generate`) get a group of samples each; the critics score every sample
(:mod:`.reward`: certified = 1, else a partial reward below 0.5 from the valid prefix and its
progress toward the goal); group-relative advantages weight the samples' token log-probabilities
in a clipped policy-gradient loss with a KL guard against the start adapter (:mod:`.grpo`). The
run checkpoints after every update and resumes (:mod:`.run`); rounds of updates are evaluated as
``improve`` rounds are (:mod:`.rounds`), settings in :mod:`.config`.
"""

from __future__ import annotations

from .config import RLConfig, load_config
from .reward import PARTIAL_CAP, PlanScorer, Reward, goal_progress, group_advantages, partial_reward, plan_reward

__all__ = [
    "PARTIAL_CAP",
    "PlanScorer",
    "RLConfig",
    "Reward",
    "goal_progress",
    "group_advantages",
    "load_config",
    "partial_reward",
    "plan_reward",
]
