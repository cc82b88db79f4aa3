"""PlanBench Logistics: packages moved by truck within cities and by airplane between them.

The PDDL is PlanBench's (untyped: types are unary predicates such as ``(truck ?t)``); the
natural-language rendering is PlanBench's ``configs/logistics.yaml`` (objects read as
``package_0``, ``location_1_0``...). The one-shot example is PlanBench's own: instance 1 of
``logistics/generated_basic``, which PlanBench uses as the example of its first test prompt and
leaves out of its test set (instances 2-286, :data:`TEST_SET`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from llm_modulo.domains.planning.domain import Example, PlanningDomain, load_examples
from llm_modulo.domains.planning.vocabulary import Vocabulary

DATA = Path(__file__).parent / "data"
NAME = "logistics"
INSTANCE_FOLDER = "logistics/generated_basic"
TEST_SET = range(2, 287)  # PlanBench's plan-generation prompts; instance 1 is the worked example


@cache
def examples() -> tuple[Example, ...]:
    """The worked examples (instance 1 of ``logistics/generated_basic`` and PlanBench's plan for it)."""
    return load_examples(DATA)


def vocabulary() -> Vocabulary:
    return Vocabulary.from_yaml(DATA / "vocabulary.yaml", name=NAME)


def domain_file() -> Path:
    return DATA / "domain.pddl"


def logistics(
    style: str = "nl", one_shot: bool = True, cot: bool = False, soft_critics: bool = False
) -> PlanningDomain:
    """PlanBench Logistics: natural-language ("nl", PlanBench's wording) or PDDL-style prompts,
    one-shot by default; ``soft_critics`` adds plan-length advice."""
    return PlanningDomain(
        NAME,
        vocabulary(),
        examples=examples() if one_shot else (),
        style=style,
        cot=cot,
        soft_critics=soft_critics,
    )


def test_instances(count: int | None = None, start: int = 2) -> list[str]:
    """Names of PlanBench's Logistics test instances (from ``start``, at most ``count``)."""
    ids = [i for i in TEST_SET if i >= start]
    return [f"{INSTANCE_FOLDER}/instance-{i}" for i in (ids[:count] if count is not None else ids)]


test_instances.__test__ = False  # type: ignore[attr-defined]  # not a pytest test

__all__ = ["TEST_SET", "domain_file", "examples", "logistics", "test_instances", "vocabulary"]
