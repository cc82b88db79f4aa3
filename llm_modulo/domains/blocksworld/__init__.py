"""Blocksworld, Mystery and Randomized Mystery Blocksworld (PlanBench): one planning domain, three vocabularies.

Each is a :class:`BlocksworldDomain`: a planning domain that also makes training problems and
knows the test set's keys (:mod:`.generate`, :mod:`.keys`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from llm_modulo.domains.planning.domain import Example, PlanningDomain, load_examples
from llm_modulo.domains.planning.vocabulary import Vocabulary
from llm_modulo.types import Task

from .domain import BlocksworldDomain

DATA = Path(__file__).parent / "data"
SUSSMAN = DATA / "blocksworld" / "sussman.pddl"


@cache
def _examples(folder: str) -> tuple[Example, ...]:
    return load_examples(DATA / folder)


def vocabulary(folder: str) -> Vocabulary:
    return Vocabulary.from_yaml(DATA / folder / "vocabulary.yaml", name=folder)


def _domain(
    folder: str, style: str, one_shot: bool, cot: bool = False, soft_critics: bool = False
) -> BlocksworldDomain:
    return BlocksworldDomain(
        folder,
        vocabulary(folder),
        examples=_examples(folder) if one_shot else (),
        style=style,
        cot=cot,
        soft_critics=soft_critics,
    )


def blocksworld(
    style: str = "nl", one_shot: bool = True, cot: bool = False, soft_critics: bool = False
) -> BlocksworldDomain:
    """PlanBench Blocksworld: natural-language ("nl") or PDDL-style prompts, one-shot by default;
    ``cot`` asks for chain-of-thought answers (free-text sampling); ``soft_critics`` adds
    plan-length advice."""
    return _domain("blocksworld", style, one_shot, cot, soft_critics)


def mystery_blocksworld(
    style: str = "nl", one_shot: bool = True, cot: bool = False, soft_critics: bool = False
) -> BlocksworldDomain:
    """PlanBench Mystery Blocksworld: the same problems in an obfuscated vocabulary."""
    return _domain("mystery_blocksworld", style, one_shot, cot, soft_critics)


RANDOM = "random_mystery_blocksworld"


def _first_word(template: str) -> str:
    return next(w for w in template.split() if w != "{}")


def random_mystery_blocksworld(
    style: str = "nl", one_shot: bool = True, cot: bool = False, soft_critics: bool = False
) -> BlocksworldDomain:
    """PlanBench Randomized Mystery Blocksworld: Blocksworld PDDL problems (``blocksworld/generated_basic``)
    in PlanBench's vocabulary of random strings (``configs/random_blocksworld.yaml``).

    In the "pddl" style the PDDL itself is shown with the random strings in place of the action
    and predicate names (``(1jpkithdyjmlikck a)`` for ``(pick-up a)``), so neither style gives the
    familiar names away; plans may use either spelling. The one-shot examples are Blocksworld's
    own, rendered in this vocabulary.
    """
    vocab = vocabulary(RANDOM)
    names = {a: _first_word(t) for a, t in vocab.actions.items()}
    names.update({p: _first_word(t) for p, t in vocab.predicates.items()})
    return BlocksworldDomain(
        RANDOM,
        vocab,
        examples=_examples("blocksworld") if one_shot else (),
        style=style,
        cot=cot,
        soft_critics=soft_critics,
        pddl_names=names,
    )


def domain_file(folder: str = "blocksworld") -> Path:
    return DATA / folder / "domain.pddl"


def sussman_anomaly(domain: PlanningDomain | None = None) -> Task:
    """The Sussman anomaly: C on A, A and B on the table; goal A on B on C."""
    domain = domain or blocksworld()
    return domain.load_files(domain_file("blocksworld"), SUSSMAN, task_id="sussman-anomaly")


__all__ = [
    "BlocksworldDomain",
    "blocksworld",
    "domain_file",
    "mystery_blocksworld",
    "random_mystery_blocksworld",
    "sussman_anomaly",
    "vocabulary",
]
