"""Published anchor figures on the benchmark sets in ``shared/benchmarks`` (see its README).

Reports print them beside our own figures for the matching domain, each labelled with its
model and protocol, so that a reader sees at once where a run stands. They are other people's
numbers on other models and protocols: context, never a claim about this run.
"""

from __future__ import annotations

from dataclasses import dataclass

PLANBENCH_600 = "600 (PlanBench: blocksworld/generated_basic 1-500 + generated_basic_3 1-100)"
MYSTERY_600 = "600 (the same problems in the Mystery vocabulary)"
RANDOM_600 = "600 (the same problems in the randomized vocabulary)"


@dataclass(frozen=True)
class Anchor:
    """One published success rate."""

    benchmark: str  # which benchmark family it belongs to (the key reports match on)
    model: str
    protocol: str
    rate: float  # fraction solved, 0..1
    instances: int | None  # how many instances the figure is over, None where the source does not say
    instances_note: str  # in words, e.g. which subsets


_BACKPROMPT = "back-prompting with a sound plan validator (at most 15 rounds)"

ANCHORS: tuple[Anchor, ...] = (
    Anchor("blocksworld", "o1-preview", "PlanBench plan generation, zero-shot", 0.978, 600, PLANBENCH_600),
    Anchor("blocksworld", "DeepSeek-R1", "PlanBench plan generation, zero-shot", 0.991, 600, PLANBENCH_600),
    Anchor("blocksworld", "GPT-4", "PlanBench plan generation, zero-shot", 0.346, 600, PLANBENCH_600),
    Anchor("blocksworld", "LLaMA-3.1-405B", "PlanBench plan generation, zero-shot", 0.626, 600, PLANBENCH_600),
    Anchor(
        "blocksworld", "GPT-4", _BACKPROMPT, 0.82, None, "PlanBench Blocksworld (count not stated in benchmarks/README)"
    ),
    Anchor("mystery_blocksworld", "o1-preview", "PlanBench plan generation, zero-shot", 0.528, 600, MYSTERY_600),
    Anchor("mystery_blocksworld", "GPT-4", "PlanBench plan generation, zero-shot", 0.0, 600, MYSTERY_600),
    Anchor(
        "mystery_blocksworld",
        "GPT-4",
        _BACKPROMPT,
        0.10,
        None,
        "PlanBench Mystery (count not stated in benchmarks/README)",
    ),
    Anchor("randomized_mystery", "o1-preview", "PlanBench plan generation, zero-shot", 0.373, 600, RANDOM_600),
    Anchor(
        "logistics", "GPT-4", _BACKPROMPT, 0.70, None, "PlanBench Logistics (count not stated in benchmarks/README)"
    ),
    Anchor("blocksworld_hard", "o1-preview", "one try", 0.236, 110, "110 (blocksworld_hard/generated, 6-15 blocks)"),
    Anchor(
        "blocksworld_hard",
        "o1-preview",
        "back-prompting with first-error feedback",
        0.982,
        110,
        "110 (blocksworld_hard/generated, 6-15 blocks)",
    ),
    Anchor("game24", "GPT-4", "chain of thought", 0.04, 100, "100 (24.csv ranks 901-1000, the standard test set)"),
    Anchor(
        "game24",
        "GPT-4",
        "Tree of Thoughts (breadth 5)",
        0.74,
        100,
        "100 (24.csv ranks 901-1000, the standard test set)",
    ),
)

BENCHMARK_NAMES = {
    "blocksworld": "PlanBench Blocksworld",
    "mystery_blocksworld": "PlanBench Mystery Blocksworld",
    "randomized_mystery": "PlanBench randomized Mystery Blocksworld",
    "logistics": "PlanBench Logistics",
    "blocksworld_hard": "PlanBench Blocksworld-hard",
    "game24": "Game of 24",
}


def benchmark_of(domain: str, instance_set: str) -> str | None:
    """Which published benchmark family a (domain, instance set) of ours belongs to, if any."""
    d, s = domain.lower(), instance_set.lower().replace("\\", "/")
    if "game24" in s or "game24" in d or "game_of_24" in d or "24.csv" in s:
        return "game24"
    if "blocksworld_hard" in s or "blocksworld_hard" in d:
        return "blocksworld_hard"
    if "logistics" in s or "logistics" in d:
        return "logistics"
    if "blocksworld" in s or "blocksworld" in d:
        if "random" in s or "random" in d:
            return "randomized_mystery"
        if "mystery" in s or "mystery" in d:
            return "mystery_blocksworld"
        return "blocksworld"
    return None


def anchors_for(domain: str, instance_set: str) -> list[Anchor]:
    """The published figures for the benchmark our (domain, instance set) belongs to."""
    bench = benchmark_of(domain, instance_set)
    return [a for a in ANCHORS if a.benchmark == bench]


__all__ = ["ANCHORS", "BENCHMARK_NAMES", "Anchor", "anchors_for", "benchmark_of"]
