"""GRPO with the verifier's reward: advantages, the reward, one update's direction, exact resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from llm_modulo.training.rl.reward import (
    PARTIAL_CAP,
    PlanScorer,
    Reward,
    goal_progress,
    group_advantages,
    partial_reward,
)


def test_group_advantages_are_standardised_per_group() -> None:
    adv = group_advantages([1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5], group=4)
    first = adv[:4]
    assert first[0] > 0 > first[1] and first[1] == first[2] == first[3]
    assert math.isclose(sum(first), 0.0, abs_tol=1e-9)
    assert math.isclose(first[0], 0.75 / (math.sqrt(3) / 4 + 1e-4), rel_tol=1e-9)  # (r - mean) / (std + eps)
    assert adv[4:] == [0.0] * 4  # equal rewards: nothing to learn from the group
    with pytest.raises(ValueError):
        group_advantages([1.0, 0.0, 1.0], group=2)


def test_partial_reward_is_monotone_and_below_the_cap() -> None:
    values = [partial_reward(v, 6, 0.3) for v in range(7)]
    assert values == sorted(values) and len(set(values)) == 7
    values = [partial_reward(3, 6, p / 10) for p in range(11)]
    assert values == sorted(values) and len(set(values)) == 11
    assert partial_reward(6, 6, 1.0) < PARTIAL_CAP < 1.0
    assert partial_reward(0, 0, 1.0) == 0.0  # an empty plan
    assert goal_progress(4, 1) == 0.75 and goal_progress(4, 9) == 0.0 and goal_progress(0, 0) == 0.0
    assert goal_progress(float("inf"), 1) == 0.0 and goal_progress(3, float("inf")) == 0.0


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, list[str]]:
    """A generated 5-block problem (never a test instance), its domain and its imitation plan's lines."""
    from llm_modulo.training.chat import training_domain
    from llm_modulo.training.generate import blocksworld_problems, write_blocksworld

    domain = training_domain("blocksworld", "compact")
    drawn = list(blocksworld_problems(6, seed=3, min_blocks=5, max_blocks=5))
    folder = tmp_path_factory.mktemp("rl-problems")
    paths = write_blocksworld(drawn, folder)
    for path in paths:
        task = domain.load_files(folder / "domain.pddl", path, task_id=path.stem)
        target = domain.imitation_target(task)
        lines = target[0].splitlines()[:-1]  # without the end marker
        if len(lines) >= 4:
            return domain, task, lines
    pytest.fail("no generated problem with a plan of 4 or more steps")


def test_reward_is_one_only_when_certified(problem: tuple[Any, Any, list[str]]) -> None:
    domain, task, lines = problem
    score = PlanScorer(domain, task)
    prefill, end = domain.prompt(task).prefill, "[PLAN END]"
    whole = score(prefill + "\n".join(lines) + "\n" + end)
    assert whole == Reward(1.0, True, len(lines), len(lines), 1.0)
    prefixes = [score(prefill + "\n".join(lines[:k]) + ("\n" if k else "") + end) for k in range(len(lines))]
    assert all(not r.certified and r.value < PARTIAL_CAP for r in prefixes)
    assert [r.valid for r in prefixes] == list(range(len(lines)))
    assert prefixes[0].value == 0.0 and prefixes[-1].value > 0.0
    # the whole plan, then a step that cannot apply: the goal was reached, still not certified
    broken = score(prefill + "\n".join([*lines, lines[0]]) + "\n" + end)
    assert not broken.certified and broken.valid == len(lines) and broken.value < PARTIAL_CAP
    assert broken.progress == 1.0
    assert score(prefill + "the blocks are nice\n" + end).value == 0.0


def _tiny_policy(tiny_base: Path) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_base), dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj"], task_type="CAUSAL_LM")
    model = get_peft_model(base, config)
    with torch.no_grad():  # B = 0 at init would leave A without gradient in the first step
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    return model


def test_one_update_moves_toward_the_higher_reward_sample(tiny_base: Path, one_thread: Any) -> None:
    import torch

    from llm_modulo.training.rl.grpo import Sequences, pad_batch, token_logprobs, update_policy

    model = _tiny_policy(tiny_base)
    prompt, good, bad = [5, 6, 7, 8], [11, 12, 13, 2], [21, 22, 23, 2]
    seqs = Sequences([prompt, prompt], [good, bad])
    batch = pad_batch(seqs.prompts, seqs.completions, pad_id=2)

    def total(model: Any) -> Any:
        with torch.no_grad():
            return (token_logprobs(model, batch) * batch["completion_mask"]).sum(dim=1)

    before = total(model)
    lora = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.5)
    stats = update_policy(model, optimizer, seqs, group_advantages([1.0, 0.0], 2), pad_id=2, beta=0.0)
    after = total(model)
    assert after[0] > before[0] and after[1] < before[1]
    assert any(not torch.equal(p, lora[n]) for n, p in model.named_parameters() if "lora_" in n)
    assert stats["completion_tokens"] == 8.0 and stats["clipped"] == 0.0


def test_resume_restores_exactly(tiny_base: Path, tmp_path: Path, one_thread: Any, monkeypatch: Any) -> None:
    """Two updates in one go, and one update, a stop, a resume and the second: the same weights and log."""
    import torch
    from safetensors.torch import load_file

    from llm_modulo.training.rl import run
    from llm_modulo.training.rl.config import RLConfig

    class LengthScorer:  # a random tiny model certifies nothing: a reward that varies, so the update moves
        def __init__(self, domain: Any, task: Any) -> None:
            pass

        def __call__(self, text: str) -> Reward:
            return Reward((len(text) % 7) / 7, False, 0, 1, 0.0)

    monkeypatch.setattr(run, "PlanScorer", LengthScorer)
    cfg = RLConfig(base=str(tiny_base), start=None, rank=4, alpha=8, updates_per_round=2, problems_per_update=2,
                   group=2, max_tokens=6, max_len=480, min_blocks=4, max_blocks=4, lr=1e-2, eval=False)  # fmt: skip
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    full = run.train_updates(cfg, straight)
    first = run.train_updates(cfg, stopped, stop_after=1)
    assert len(first) == 1 and (stopped / "checkpoints" / "step-000001").is_dir()
    resumed = run.train_updates(cfg, stopped)

    def same(a: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in a.items() if not k.startswith("seconds")}

    assert [same(h) for h in resumed] == [same(h) for h in full] and len(full) == 2
    a = load_file(str(straight / "checkpoints" / "step-000002" / "adapter_model.safetensors"))
    b = load_file(str(stopped / "checkpoints" / "step-000002" / "adapter_model.safetensors"))
    start = load_file(str(stopped / "checkpoints" / "step-000001" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], start[k]) for k in a)  # the second update moved the weights
    assert (straight / "round-1" / "adapter" / "adapter_config.json").is_file()
    card = json.loads((straight / "round-1" / "adapter" / "training.json").read_text())
    assert card["rl"]["updates"] == 2 and card["rl"]["samples"] == 8


def test_the_reference_is_the_start_adapter(tiny_base: Path, tmp_path: Path, one_thread: Any) -> None:
    """With a start adapter, the reference is a frozen copy: equal to the policy before any update,
    and switching to it for the KL leaves the policy's weights the trainable ones."""
    import torch

    from llm_modulo.training.rl.config import RLConfig
    from llm_modulo.training.rl.grpo import pad_batch, token_logprobs
    from llm_modulo.training.rl.run import POLICY, load_policy

    _tiny_policy(tiny_base).save_pretrained(str(tmp_path / "start"))
    cfg = RLConfig(base=str(tiny_base), start=str(tmp_path / "start"), eval=False)
    policy = load_policy(cfg)
    batch = pad_batch([[5, 6, 7]], [[8, 9, 2]], pad_id=2)
    with torch.no_grad():
        assert torch.allclose(policy.reference(batch), token_logprobs(policy.model, batch))
    trainable = {n for n, p in policy.model.named_parameters() if p.requires_grad}
    assert trainable and all(f".{POLICY}." in n for n in trainable)
    assert {id(p) for g in policy.optimizer.param_groups for p in g["params"]} == {
        id(p) for n, p in policy.model.named_parameters() if n in trainable
    }
