"""A scripted language model: replays given completions. The test double for the loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SamplingParams

Script = Sequence[str] | Callable[[Prompt, int], Sequence[str]]


class ScriptedModel:
    """Returns completions from ``script`` in order, one per sample, cycling when ``cycle`` is set.

    ``script`` may also be a function ``(prompt, n) -> completions``. Every prompt received is
    kept in ``prompts`` so tests can assert what the loop sent.
    """

    def __init__(self, script: Script, name: str = "scripted", cycle: bool = False) -> None:
        self.script = script
        self.name = name
        self.cycle = cycle
        self.prompts: list[Prompt] = []
        self.calls: list[int] = []
        self._pos = 0

    def _next(self, prompt: Prompt, n: int) -> list[str]:
        if callable(self.script):
            return list(self.script(prompt, n))[:n]
        out = []
        for _ in range(n):
            if self._pos >= len(self.script):
                if not self.cycle or not self.script:
                    break
                self._pos = 0
            out.append(self.script[self._pos])
            self._pos += 1
        return out

    def sample(self, prompt: Prompt, n: int, params: SamplingParams, constraint: LineConstraint | None = None) -> Batch:
        self.prompts.append(prompt)
        self.calls.append(n)
        texts = self._next(prompt, n)
        prompt_tokens = len(prompt.render_plain().split())
        return Batch(
            completions=[Completion(text=t, tokens=max(1, len(t.split())), prompt_tokens=prompt_tokens) for t in texts]
        )
