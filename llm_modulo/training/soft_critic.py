"""A learned soft critic: a logistic head on the planner's own hidden states, trained on candidates
the plan validator certified against those it rejected.

:func:`candidate_features` reads one prompt and its candidates through a local model (the prompt
once, each candidate on a copy of its KV cache) and returns, per candidate, the last layer's hidden
state mean-pooled over the candidate's tokens, its mean token log-probability and its log length,
and the candidate's total log-probability (the model's own ranking, the baseline it is measured
against). :class:`SoftHead` is a standardised logistic regression over those features, fitted by
:func:`fit_head` and kept as a small JSON file. :class:`LearnedCritic` is the head as a critic:
``hard = False``, so it ranks candidates (its score is the estimated probability of being
certified) and never certifies: :func:`~llm_modulo.types.certified` counts hard critics only.
torch is imported inside the functions.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.protocols import Prompt
from llm_modulo.types import Candidate, Task, Verdict, VerdictStatus

log = logging.getLogger(__name__)

FORMAT = "llm-modulo soft-critic head v1"


@dataclass(frozen=True)
class Scored:
    """One candidate as the model reads it: the head's features and the total log-probability."""

    features: list[float]
    logprob: float
    tokens: int


def candidate_features(model: Any, prompt: Prompt, completions: Sequence[str]) -> list[Scored]:
    """The features and log-probability of each completion (text after the prefill) of ``prompt``
    under ``model`` (a :class:`~llm_modulo.models.local.LocalModel`)."""
    import torch

    model.load()
    net, tokenizer = model._model, model.tokenizer
    eos = model._eos_ids[0] if model._eos_ids else tokenizer.eos_token_id
    ids = tokenizer(model.render(prompt), add_special_tokens=False)["input_ids"]
    out: list[Scored] = []
    with torch.inference_mode():
        head = net(input_ids=torch.tensor([ids]), use_cache=True)
        for text in completions:
            row = tokenizer.encode(text, add_special_tokens=False) or [eos]
            # each candidate continues its own copy of the prompt's cache (a forward pass extends it)
            step = net(
                input_ids=torch.tensor([row]),
                past_key_values=copy.deepcopy(head.past_key_values),
                use_cache=True,
                output_hidden_states=True,
            )
            logits = torch.cat([head.logits[:, -1:], step.logits[:, :-1]], dim=1).float()[0]
            picked = logits.log_softmax(-1).gather(-1, torch.tensor(row)[:, None]).squeeze(-1)
            total = float(picked.sum())
            pooled = step.hidden_states[-1][0].float().mean(dim=0).tolist()
            out.append(Scored([*pooled, total / len(row), math.log(len(row))], total, len(row)))
    return out


@dataclass
class SoftHead:
    """A standardised logistic regression: ``p = sigmoid(w . (x - mean) / std + b)``."""

    mean: list[float]
    std: list[float]
    weight: list[float]
    bias: float
    card: dict[str, Any]

    def probabilities(self, rows: Sequence[Sequence[float]]) -> list[float]:
        out = []
        for row in rows:
            if len(row) != len(self.weight):
                raise InputError(f"the head takes {len(self.weight)} features, not {len(row)}")
            z = self.bias + sum(
                w * (x - m) / s for w, x, m, s in zip(self.weight, row, self.mean, self.std, strict=True)
            )
            out.append(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z)))))
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "card": self.card, "mean": self.mean, "std": self.std,
                "weight": self.weight, "bias": self.bias}  # fmt: skip
        path.write_text(json.dumps(data) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> SoftHead:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read a soft-critic head from {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{path} is not a soft-critic head ({FORMAT!r})")
        return cls(data["mean"], data["std"], data["weight"], float(data["bias"]), data.get("card", {}))


def fit_head(
    rows: Sequence[Sequence[float]],
    labels: Sequence[bool],
    weight_decay: float = 1e-2,
    steps: int = 500,
    seed: int = 0,
    card: dict[str, Any] | None = None,
) -> SoftHead:
    """A :class:`SoftHead` fitted by full-batch L-BFGS on the logistic loss plus an L2 penalty
    (classes weighted equally, so a rare label is not ignored)."""
    import torch

    if len(rows) != len(labels) or not rows:
        raise InputError("fit_head needs one label per row and at least one row")
    torch.manual_seed(seed)
    x = torch.tensor([list(r) for r in rows], dtype=torch.float64)
    y = torch.tensor([1.0 if v else 0.0 for v in labels], dtype=torch.float64)
    mean, std = x.mean(0), x.std(0, unbiased=False).clamp_min(1e-6)
    z = (x - mean) / std
    positives = float(y.sum())
    pos_weight = (len(y) - positives) / positives if 0 < positives < len(y) else 1.0
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, dtype=torch.float64))

    def closure() -> Any:
        optimizer.zero_grad()
        loss = loss_fn(z @ w + b, y) + weight_decay * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]  # (unannotated in torch)
    info = {"rows": len(rows), "certified": int(positives), "weight_decay": weight_decay, **(card or {})}
    return SoftHead(mean.tolist(), std.tolist(), w.detach().tolist(), float(b.detach()), info)


class LearnedCritic:
    """The head as a critic of a domain's candidates. Soft: it ranks, it never certifies.

    ``check`` returns an UNKNOWN verdict whose ``score`` is the head's probability that the
    candidate would be certified; :meth:`probabilities` scores a batch of completions at once."""

    name = "learned"
    hard = False

    def __init__(self, model: Any, domain: Any, head: SoftHead) -> None:
        self.model, self.domain, self.head = model, domain, head

    def probabilities(self, task: Task, completions: Sequence[str]) -> list[float]:
        prompt = self.domain.prompt(task)
        return self.head.probabilities([s.features for s in candidate_features(self.model, prompt, completions)])

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        prefill = self.domain.prompt(task).prefill
        text = candidate.text[len(prefill) :] if candidate.text.startswith(prefill) else candidate.text
        p = self.probabilities(task, [text])[0]
        return Verdict(status=VerdictStatus.UNKNOWN, critic=self.name, hard=False, score=p, info={"p_certified": p})


__all__ = ["FORMAT", "LearnedCritic", "Scored", "SoftHead", "candidate_features", "fit_head"]
