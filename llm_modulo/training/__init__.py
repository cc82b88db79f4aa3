"""Learning from the verifier: certified training data and LoRA fine-tuning of the embedded model.

- :mod:`.canon`: canonical problem keys and the test sets they exclude;
- :mod:`.generate`: seeded Blocksworld and Game-of-24 training problems (never test instances);
- :mod:`.chat`: training prompts and tokens, as the local backend renders them at inference;
- :mod:`.targets`: certified imitation and expert-iteration records (JSONL);
- :mod:`.lora`: LoRA training with peft, checkpoints, resume, adapter loading;
- :mod:`.commands`: the command-line entry points as plain functions;
- :mod:`.improve`: expert iteration, the outer loop (sample with critics, train, evaluate, repeat).

Importing this package imports none of torch, transformers or peft.
"""

from __future__ import annotations

__all__ = ["canon", "chat", "commands", "generate", "improve", "lora", "targets"]
