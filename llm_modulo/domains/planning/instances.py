"""Finding benchmark instances: PlanBench names like ``blocksworld/generated_basic/instance-2``."""

from __future__ import annotations

import json
import logging
import os
import re
from functools import lru_cache
from pathlib import Path

from llm_modulo.errors import InputError

log = logging.getLogger(__name__)

ENV_VAR = "LLM_MODULO_BENCHMARKS"


def benchmarks_root() -> Path | None:
    """The folder holding ``planbench/`` and ``game24/``.

    ``$LLM_MODULO_BENCHMARKS`` if set; otherwise ``shared/benchmarks`` beside the current
    folder or any of its parents (a checkout sits next to ``shared/``), then beside this source tree.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    starts = [Path.cwd(), Path(__file__).resolve()]
    for start in starts:
        for folder in [start, *start.parents]:
            for candidate in (folder / "shared" / "benchmarks", folder / "benchmarks"):
                if (candidate / "planbench").is_dir():
                    return candidate
    return None


def planbench_root() -> Path:
    root = benchmarks_root()
    if root is None:
        raise InputError(
            f"PlanBench data not found: set ${ENV_VAR} to the folder that holds planbench/ "
            "(in a checkout it is ../shared/benchmarks)"
        )
    return root / "planbench"


def resolve_instance(name: str) -> tuple[Path, Path]:
    """(domain file, problem file) for a PlanBench instance name or a problem file path.

    A path to a file (``.pddl`` optional) is that file; anything else, e.g.
    ``blocksworld/generated_basic/instance-2``, is looked up under ``planbench/``. The domain file is
    :func:`domain_file_for` the problem's.
    """
    from llm_modulo.files import input_file

    path = _named_path(name)  # a file the user named
    if path is None:
        path = planbench_root() / Path(name.removeprefix("planbench/"))
        if path.name and not path.suffix:
            path = path.with_suffix(".pddl")
        if not _exists(path, name):
            raise InputError(f"unknown instance {name!r}: no file {path}")
    problem = input_file(path, "problem file")  # one we can read: not a folder, a pipe, an empty file
    return input_file(domain_file_for(problem), "domain file"), problem


def _named_path(name: str) -> Path | None:
    """The path that ``name`` (or ``name.pddl``) names, if anything is there."""
    path = Path(name)
    for typed in [path] if path.suffix or not path.name else [path, path.with_suffix(".pddl")]:
        if _exists(typed, name):
            return typed
    return None


def _exists(path: Path, name: str) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError as exc:  # a name too long for the file system
        raise InputError(f"bad instance {name!r}: {exc.strerror}") from None


def _key(path: Path) -> str:
    """A PDDL file's name less the words domain and problem: ``p01`` for ``p01.pddl``, ``p01-domain.pddl``,
    ``domain_p01.pddl``; ``gripper`` for ``gripper_problem.pddl`` and ``gripper_domain.pddl``."""
    stem = re.sub("domain|problem", "", path.stem, flags=re.IGNORECASE)
    return re.sub(r"[-_. ]+", "-", stem).strip("-").lower()


def domain_file_for(problem: Path, ask: str = "give it with --domain D.pddl --problem P.pddl") -> Path:
    """The domain file of a problem file, chosen by fixed rules, never by chance. In the problem's
    folder: ``domain.pddl``; else the one ``*domain*.pddl`` named as the problem (``p01-domain.pddl``
    or ``domain_p01.pddl`` for ``p01.pddl``); else the only ``*domain*.pddl`` there. A folder with
    none defers to its parent (PlanBench keeps instances one folder below their domain), where
    ``domain.pddl`` or a single ``*domain*.pddl`` is taken. Several candidates, or none, is an error
    that ends with ``ask``: what the user can do about it."""
    problem = problem.resolve()
    for folder in (problem.parent, problem.parent.parent):
        exact = folder / "domain.pddl"
        if exact.is_file():
            return exact
        found = sorted(p for p in folder.glob("*domain*.pddl") if p.is_file() and p != problem)
        if folder == problem.parent:
            named = [p for p in found if _key(p) == _key(problem)]
            found = named or found
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(p.name for p in found[:4]) + (", ..." if len(found) > 4 else "")
            raise InputError(f"which domain file for {problem.name}? {folder} holds {len(found)} ({names}): {ask}")
    raise InputError(
        f"no domain file for {problem}: none in its folder or the one above (domain.pddl or *domain*.pddl); {ask}"
    )


def list_instances(folder: str, start: int = 1, count: int | None = None) -> list[str]:
    """PlanBench instance names in ``folder`` (e.g. ``blocksworld/generated_basic``), numeric order."""
    root = planbench_root() / folder
    if not root.is_dir():
        raise InputError(f"unknown instance folder {folder!r}: {root} does not exist")
    files = sorted(root.glob("instance-*.pddl"), key=lambda p: int(p.stem.split("-")[-1]))
    names = [f"{folder}/{p.stem}" for p in files if int(p.stem.split("-")[-1]) >= start]
    return names[:count] if count is not None else names


# PlanBench prompt sets whose ground-truth plans are known plans (not proven optimal) for an instance folder
_PROMPT_SETS = {
    "blocksworld/generated_basic": "blocksworld",
    "blocksworld/generated_basic_3": "blocksworld_3",
    "blocksworld/mystery/generated_basic": "mystery_blocksworld",
    "blocksworld/mystery/generated_basic_3": "mystery_blocksworld_3",
    "logistics/generated_basic": "logistics",
}


@lru_cache(maxsize=16)
def _prompt_plan_lengths(path: str) -> dict[int, int]:
    data = json.loads(Path(path).read_text())
    return {
        int(item["instance_id"]): sum(
            1 for line in str(item.get("ground_truth_plan", "")).splitlines() if line.strip().startswith("(")
        )
        for item in data.get("instances", [])
    }


@lru_cache(maxsize=16)
def _info_lengths(path: str) -> dict[str, int]:
    data = json.loads(Path(path).read_text())
    return {name: int(entry["length"]) for name, entry in data.items() if isinstance(entry, dict) and "length" in entry}


def known_plan_lengths(problem_file: str | Path) -> dict[str, int]:
    """What the benchmark data says about a problem's plans, as task meta:
    ``optimal_plan_length`` (``info.json`` beside the instances, as in Blocksworld-hard: optimal
    plans) and ``known_plan_length`` (PlanBench's ground-truth plan: valid, not proven optimal).
    Empty when the data has neither or is not found."""
    path = Path(problem_file)
    out: dict[str, int] = {}
    try:
        path = path.resolve()
        for info in (path.parent / "info.json", path.parent.parent / "info.json"):
            if info.is_file():
                length = _info_lengths(str(info)).get(path.name)
                if length is not None:
                    out["optimal_plan_length"] = length
                break
        root = benchmarks_root()
        if root is None or not path.stem.startswith("instance-"):
            return out
        folder = path.parent.relative_to((root / "planbench").resolve()).as_posix()
        prompt_set = _PROMPT_SETS.get(folder)
        prompts = root / "planbench" / "prompts" / str(prompt_set) / "task_1_plan_generation.json"
        if prompt_set is not None and prompts.is_file():
            length = _prompt_plan_lengths(str(prompts)).get(int(path.stem.split("-")[-1]))
            if length:
                out["known_plan_length"] = length
    except (ValueError, OSError, KeyError, TypeError) as exc:  # not under planbench/, or unreadable data
        log.debug("no plan lengths for %s: %s", problem_file, exc)
    return out
