"""Name -> factory registries for domains and strategies.

Factories are ``"module:attribute"`` strings resolved on first use, so nothing heavy loads at
import time. Third-party domains register through the ``llm_modulo.domains`` entry-point group.
An unknown name fails loudly with the known names.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from llm_modulo.contract import has
from llm_modulo.errors import InputError, UnknownNameError

if TYPE_CHECKING:  # the strategies load on first use, not with the registry
    from llm_modulo.strategies.base import BaseStrategy

DOMAINS: dict[str, str] = {
    "blocksworld": "llm_modulo.domains.blocksworld:blocksworld",
    "mystery_blocksworld": "llm_modulo.domains.blocksworld:mystery_blocksworld",
    "random_mystery_blocksworld": "llm_modulo.domains.blocksworld:random_mystery_blocksworld",
    "logistics": "llm_modulo.domains.logistics:logistics",
    "pddl": "llm_modulo.domains.planning:pddl_domain",
    "code": "llm_modulo.domains.code:code_tasks",
    "coloring": "llm_modulo.domains.coloring:coloring",
    "game24": "llm_modulo.domains.game24:game24",
}

# Planning domains whose vocabulary is tried, in order, when a PDDL file comes without a domain name.
PLANNING_VOCABULARIES = ["blocksworld", "mystery_blocksworld", "logistics"]

STRATEGIES: dict[str, str] = {
    "direct": "llm_modulo.strategies.direct:Direct",
    "best-of-n": "llm_modulo.strategies.best_of_n:BestOfN",
    "modulo": "llm_modulo.strategies.modulo:Modulo",
    "self-consistency": "llm_modulo.strategies.self_consistency:SelfConsistency",
    "self-critique": "llm_modulo.strategies.self_critique:SelfCritique",
    "search": "llm_modulo.strategies.search:Search",
}


def _resolve(spec: str) -> Callable[..., Any]:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def _plugin_domains() -> dict[str, Any]:
    from importlib.metadata import entry_points  # 40 ms to import: only when a name is not built in

    return {ep.name: ep for ep in entry_points(group="llm_modulo.domains")}


def domain_names() -> list[str]:
    return sorted({*DOMAINS, *_plugin_domains()})


def domain_factory(name: str) -> Callable[..., Any]:
    """The factory that builds the domain ``name``."""
    if name in DOMAINS:
        return _resolve(DOMAINS[name])
    plugins = _plugin_domains()
    if name in plugins:
        entry = plugins[name]
        try:
            return entry.load()  # type: ignore[no-any-return]
        except Exception as exc:  # a broken third-party package: the user's to fix, so one line, not a traceback
            raise InputError(
                f"domain {name!r} (entry point {entry.value!r} of {entry.group}) cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    raise UnknownNameError("domain", name, domain_names())


def get_domain(name: str, **kwargs: Any) -> Any:
    """A domain instance by name; ``kwargs`` go to its factory (e.g. ``style``, ``one_shot``, ``cot``)."""
    factory = domain_factory(name)
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise InputError(f"domain {name!r}: {exc}") from None
    return factory(**kwargs)


def get_strategy(name: str) -> type[BaseStrategy]:
    """A strategy class by name."""
    if name not in STRATEGIES:
        raise UnknownNameError("strategy", name, list(STRATEGIES))
    return cast("type[BaseStrategy]", _resolve(STRATEGIES[name]))  # STRATEGIES names strategy classes


def load_planning_task(
    domain_file: str,
    problem_file: str,
    domain: str | None = None,
    style: str = "nl",
    task_id: str | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    """(domain, task) for PDDL files. Without ``domain``, the first registered planning domain whose
    vocabulary fits the PDDL signature is used, else the generic PDDL domain. ``options`` go to the
    domain's factory (``one_shot``, ``cot``)."""
    from llm_modulo.verifiers.planning.pddl import load_problem

    problem = load_problem(domain_file, problem_file)
    return planning_task(problem, domain_file, problem_file, domain, style, task_id, **options)


def planning_task(
    problem: Any,
    domain_file: str,
    problem_file: str,
    domain: str | None = None,
    style: str = "nl",
    task_id: str | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    """:func:`load_planning_task` for a problem already loaded (a ``PlanningProblem`` of those files)."""
    if domain is not None:
        chosen = get_domain(domain, style=style, **options)
    else:
        chosen = get_domain("pddl", style=style, **options)
        for name in PLANNING_VOCABULARIES:
            candidate = get_domain(name, style=style, **options)
            if candidate.fits(problem):
                chosen = candidate
                break
    return chosen, chosen.make_task(problem, domain_file, problem_file, task_id)


def _accepts(factory: Callable[..., Any], name: str) -> bool:
    params = inspect.signature(factory).parameters
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def is_planning(domain: Any) -> bool:
    """Whether ``domain``'s instances are PDDL problem files: it has the ``load_files`` capability
    (``solve --domain D.pddl --problem P.pddl``, PlanBench names, folders of problem files)."""
    return has(domain, "load_files")


def load_task(instance: str, domain: str | None = None, style: str = "nl", **options: Any) -> tuple[Any, Any]:
    """(domain, task) for an instance name of any registered domain, through the domain's ``load``.

    Without ``domain`` the instance is a PlanBench name or a PDDL problem file, and the planning
    vocabulary is detected from the PDDL (e.g. ``load_task("901", "game24")``,
    ``load_task("blocksworld/generated_basic/instance-2")``).
    """
    if domain is None:
        return load_planning_instance(instance, None, style, **options)
    factory = domain_factory(domain)
    kwargs = {"style": style, **options} if _accepts(factory, "style") else dict(options)
    chosen = get_domain(domain, **kwargs)
    if not has(chosen, "load"):
        raise InputError(f"domain {domain!r} cannot load instances by name: it has no load(instance)")
    return chosen, chosen.load(instance)


def domain_instances(domain: str, set_name: str, **options: Any) -> list[str]:
    """The instance names of ``set_name`` for a domain with an ``instances`` hook (not PDDL folders)."""
    chosen = get_domain(domain, **options)
    hook = getattr(chosen, "instances", None)
    if hook is None or is_planning(chosen):  # a planning domain's sets are folders of problem files
        raise InputError(f"domain {domain!r} has no named instance sets")
    return list(hook(set_name))


def load_planning_instance(
    instance: str, domain: str | None = None, style: str = "nl", **options: Any
) -> tuple[Any, Any]:
    """(domain, task) for a PlanBench instance name such as ``blocksworld/generated_basic/instance-2``."""
    from llm_modulo.domains.planning.instances import resolve_instance

    domain_file, problem_file = resolve_instance(instance)
    return load_planning_task(
        str(domain_file), str(problem_file), domain, style, instance.removesuffix(".pddl"), **options
    )


__all__ = [
    "DOMAINS",
    "STRATEGIES",
    "domain_instances",
    "domain_names",
    "get_domain",
    "get_strategy",
    "load_planning_instance",
    "load_planning_task",
    "load_task",
    "planning_task",
]
