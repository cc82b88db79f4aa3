"""Learning from the verifier: certified training data and LoRA fine-tuning of the embedded model.

- :mod:`.canon`: canonical problem keys and the test sets they exclude;
- :mod:`.generate`: seeded Blocksworld and Game-of-24 training problems (never test instances);
- :mod:`.chat`: training prompts and tokens, as the local backend renders them at inference;
- :mod:`.targets`: certified imitation and expert-iteration records (JSONL);
- :mod:`.repair`: critique-and-repair records from the samples the critics rejected;
- :mod:`.dataset`: a JSONL training set as the trainer reads it (encoded examples, seeded batches);
- :mod:`.checkpoints`: training checkpoints, written whole or not at all;
- :mod:`.lora`: LoRA training with peft, resume (adapter lookup and loading live in
  :mod:`llm_modulo.models.adapters`, the prompt formats in :mod:`llm_modulo.models.prompts`);
- :mod:`.commands`: the command-line entry points as plain functions;
- :mod:`.improve`: expert iteration, the outer loop (sample with critics, train, evaluate, repeat).

Layering: training imports :mod:`llm_modulo.models` and, to run and read sweeps,
:mod:`llm_modulo.experiments`; neither imports training.
Importing this package imports none of torch, transformers or peft.
"""

from __future__ import annotations

__all__ = ["canon", "chat", "checkpoints", "commands", "dataset", "generate", "improve", "lora", "repair", "targets"]
