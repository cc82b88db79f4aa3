"""The domain contract: what every domain must have, what it may add, and the check of both.

A domain **must** have a ``name`` and say how its world is prompted, parsed and checked:

* ``prompt(task, feedback=(), prefill="") -> Prompt``
* ``parse(task, text) -> Candidate``
* ``critics(task) -> list[Critic]``

and how one violation reads in its own words, ``describe_violation(task, candidate, violation)
-> str`` (without it, the critic's own message is used: see :func:`llm_modulo.feedback.default_describe`).

Everything else is an optional **capability**, listed once in :data:`CAPABILITIES` with what uses
it and what happens without it. A strategy checks its domain when it is built
(:func:`check_domain`): a capability that the strategy or one of its options needs and the
domain lacks is one :class:`DomainContractError` line, before any model call.
:class:`~llm_modulo.domain.BaseDomain` gives every capability that has a fallback in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llm_modulo.errors import InputError


class DomainContractError(InputError):
    """A domain lacks a method that the chosen strategy or option needs."""


@dataclass(frozen=True)
class Capability:
    """An optional domain method: what uses it, and what happens without it (``None``: nothing
    can stand in for it, so whatever needs it refuses the domain)."""

    name: str
    used_by: str
    fallback: str | None


REQUIRED: tuple[str, ...] = ("prompt", "parse", "critics")

CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability(
            "describe_violation", "every critique (modulo's back-prompt, solve's output)", "the critic's own message"
        ),
        Capability(
            "wording",
            "every critique: the retry / rejected / accepted sentences (a feedback.Wording)",
            "'Please try again.' / 'The answer is not correct.' / 'The answer is correct.'",
        ),
        Capability(
            "critique",
            "replaces the core feedback policy entirely (the contract before it existed)",
            "the core feedback policy (llm_modulo.feedback)",
        ),
        Capability("constraint", "constrained decoding (well-formed / executable), the random proposer, search", None),
        Capability("valid_prefix", "modulo's reuse_prefix and remember_rejected", None),
        Capability(
            "rejected_continuation",
            "modulo with constrained decoding: excluding rejected first steps",
            "nothing is excluded",
        ),
        Capability(
            "max_answer_chars",
            "max_tokens='auto' (the default): a bound, in characters, on the task's longest complete "
            "answer with its end marker; each completion may use that many tokens",
            "256 tokens (strategies.options.DEFAULT_MAX_TOKENS)",
        ),
        Capability("normalize", "self-consistency's vote key", "the JSON of candidate.answer"),
        Capability(
            "judge_prompt",
            "self-critique's question to the model",
            "the task's prompt, the answer, then 'Is this answer correct?'",
        ),
        Capability(
            "judge_constraint",
            "self-critique under constrained decoding",
            "'Yes, the answer is correct.' / 'No, the answer is not correct.'",
        ),
        Capability(
            "search_guide", "search: state key and distance-to-goal estimate", "no heuristic and no duplicate detection"
        ),
        Capability("load", "solve --domain-name NAME --instance ID, bench", None),
        Capability(
            "load_files",
            "PDDL problem files as instances (solve --domain/--problem, PlanBench names, "
            "folders of problem files as bench instance sets)",
            "instances are named, through load()",
        ),
        Capability("instances", "bench configs that name an instance set", None),
        Capability(
            "reference_check",
            "report --recheck: an independent re-check of verified answers",
            "verified answers are listed as unchecked",
        ),
        Capability(
            "imitation_target",
            "make-data (llm_modulo.training): the completion to imitate for a training problem, in the "
            "domain's answer format with its end marker, and its figures; training re-certifies it",
            None,
        ),
        Capability(
            "training_problems",
            "make-data: seeded training problems that are never test instances, written under the "
            "output folder (an instance set), as tasks",
            None,
        ),
        Capability(
            "problem_key",
            "training data (make-data, expert and repair data): a problem's canonical key, for the "
            "test-set exclusion and the record's problem_hash",
            None,
        ),
        Capability(
            "shortened_target",
            "expert-data --select shortened: a certified answer's steps without those it does not need",
            None,
        ),
        Capability(
            "repair_target",
            "repair-data: the completion that finishes a rejected answer from its back-prompt's prefill",
            "the domain's runs give no repair data",
        ),
        Capability("test_keys", "training data: the keys of every test instance, which it must never contain", None),
    )
}


def has(domain: object, name: str) -> bool:
    """Whether ``domain`` has the method (or, for ``wording``, the attribute) ``name``."""
    value = getattr(domain, name, None)
    return value is not None if name == "wording" else callable(value)


def missing_required(domain: object) -> list[str]:
    """The required methods ``domain`` lacks (``name`` included)."""
    lacking = [] if isinstance(getattr(domain, "name", None), str) else ["name"]
    return lacking + [m for m in REQUIRED if not callable(getattr(domain, m, None))]


def check_domain(domain: object, needs: Mapping[str, str] | None = None) -> None:
    """Raise :class:`DomainContractError` if ``domain`` lacks a required method, or one of the
    capabilities in ``needs`` (capability -> what needs it, e.g. ``{"constraint": "constrained='executable'"}``)."""
    label = getattr(domain, "name", type(domain).__name__)
    lacking = missing_required(domain)
    if lacking:
        raise DomainContractError(
            f"domain {label!r} lacks {', '.join(m + ('' if m == 'name' else '()') for m in lacking)}: "
            "every domain needs name, prompt(), parse() and critics()"
        )
    for capability, why in (needs or {}).items():
        if not has(domain, capability):
            used = CAPABILITIES[capability].used_by if capability in CAPABILITIES else ""
            raise DomainContractError(
                f"domain {label!r} lacks {capability}(), which {why} needs" + (f" ({used})" if used else "")
            )


__all__ = ["CAPABILITIES", "REQUIRED", "Capability", "DomainContractError", "check_domain", "has", "missing_required"]
