"""The uniform-random proposer: the control that shows what the language model contributes.

It draws answers uniformly from the domain's grammar of well-formed answers (a
:class:`~llm_modulo.protocols.LineConstraint`): at each line it picks uniformly among the
allowed lines and the end marker. It never looks at the prompt beyond its prefill.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from llm_modulo.errors import InputError
from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SamplingParams, ScoreBatch
from llm_modulo.strategies.model_time import random_preferences


class RandomProposer:
    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def sample(self, prompt: Prompt, n: int, params: SamplingParams, constraint: LineConstraint | None = None) -> Batch:
        if constraint is None:
            raise InputError("the random proposer needs the domain's answer grammar (use constrained sampling)")
        rng = random.Random(params.seed) if params.seed is not None else self._rng
        completions = []
        for _ in range(n):
            lines: list[str] = []
            while len(lines) < constraint.max_lines:
                options, end_ok = constraint.choices(tuple(lines))
                pick = rng.randrange(len(options) + end_ok)
                if pick == len(options):
                    break
                lines.append(options[pick])
            text = "".join(line + "\n" for line in lines) + constraint.end
            completions.append(Completion(text=text, tokens=len(text.split())))
        return Batch(completions=completions, meta={"tokens": "whitespace words"})

    def score(self, prompt: Prompt, continuations: Sequence[str], seed: int | None = None) -> ScoreBatch:
        """Uniform preferences: i.i.d. random log-weights, so a search breaks ties uniformly at random."""
        rng = random.Random(seed) if seed is not None else self._rng
        return ScoreBatch(logprobs=random_preferences(len(continuations), rng))
