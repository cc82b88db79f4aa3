"""Finding benchmark instances: PlanBench names like ``blocksworld/generated_basic/instance-2``."""

from __future__ import annotations

import os
from pathlib import Path

from llm_modulo.errors import InputError

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

    ``blocksworld/generated_basic/instance-2`` (``.pddl`` optional) is looked up under
    ``planbench/``; the domain is the nearest ``*domain*.pddl`` in the instance's folder or above.
    """
    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(".pddl")
    if not path.is_file():
        root = planbench_root()
        rel = Path(str(path).removeprefix("planbench/"))
        path = root / rel
        if not path.is_file():
            raise InputError(f"unknown instance {name!r}: no file {path}")
    for folder in path.resolve().parents:
        domains = sorted(p for p in folder.glob("*domain*.pddl") if p.is_file())
        if domains:
            return domains[0], path
        if folder.name == "planbench":
            break
    raise InputError(f"no domain file (*domain*.pddl) found above {path}")


def list_instances(folder: str, start: int = 1, count: int | None = None) -> list[str]:
    """PlanBench instance names in ``folder`` (e.g. ``blocksworld/generated_basic``), numeric order."""
    root = planbench_root() / folder
    if not root.is_dir():
        raise InputError(f"unknown instance folder {folder!r}: {root} does not exist")
    files = sorted(root.glob("instance-*.pddl"), key=lambda p: int(p.stem.split("-")[-1]))
    names = [f"{folder}/{p.stem}" for p in files if int(p.stem.split("-")[-1]) >= start]
    return names[:count] if count is not None else names
