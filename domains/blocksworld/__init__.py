"""Blocksworld and Mystery Blocksworld (PlanBench): one planning domain, two vocabularies."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from llm_modulo.domains.planning.domain import Example, PlanningDomain
from llm_modulo.domains.planning.parse import PlanParser
from llm_modulo.domains.planning.vocabulary import Vocabulary
from llm_modulo.types import Task

DATA = Path(__file__).parent / "data"
SUSSMAN = DATA / "blocksworld" / "sussman.pddl"


@lru_cache(maxsize=None)
def _examples(folder: str) -> tuple[Example, ...]:
    from llm_modulo.verifiers.planning.pddl import load_problem

    root = DATA / folder
    examples = []
    for pddl in sorted(root.glob("example-*.pddl")):
        problem = load_problem(root / "domain.pddl", pddl)
        steps = PlanParser(None, problem.objects).parse(pddl.with_suffix(".plan").read_text())
        examples.append(Example(problem=problem, plan=tuple(steps)))
    return tuple(examples)


def vocabulary(folder: str) -> Vocabulary:
    return Vocabulary.from_yaml(DATA / folder / "vocabulary.yaml", name=folder)


def _domain(folder: str, style: str, one_shot: bool, cot: bool = False) -> PlanningDomain:
    return PlanningDomain(
        folder, vocabulary(folder), examples=_examples(folder) if one_shot else (), style=style, cot=cot
    )


def blocksworld(style: str = "nl", one_shot: bool = True, cot: bool = False) -> PlanningDomain:
    """PlanBench Blocksworld: natural-language ("nl") or PDDL-style prompts, one-shot by default;
    ``cot`` asks for chain-of-thought answers (free-text sampling)."""
    return _domain("blocksworld", style, one_shot, cot)


def mystery_blocksworld(style: str = "nl", one_shot: bool = True, cot: bool = False) -> PlanningDomain:
    """PlanBench Mystery Blocksworld: the same problems in an obfuscated vocabulary."""
    return _domain("mystery_blocksworld", style, one_shot, cot)


def domain_file(folder: str = "blocksworld") -> Path:
    return DATA / folder / "domain.pddl"


def sussman_anomaly(domain: PlanningDomain | None = None) -> Task:
    """The Sussman anomaly: C on A, A and B on the table; goal A on B on C."""
    domain = domain or blocksworld()
    return domain.load_files(domain_file("blocksworld"), SUSSMAN, task_id="sussman-anomaly")


__all__ = ["blocksworld", "mystery_blocksworld", "sussman_anomaly", "domain_file", "vocabulary"]
