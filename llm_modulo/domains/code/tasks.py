"""The task set: function-writing problems read from ``tasks.yaml`` (or another file of that shape)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from llm_modulo.errors import InputError
from llm_modulo.verifiers.code.codec import from_data
from llm_modulo.verifiers.code.suite import COMPARE_MODES, CodeCase, CodeSuite

TASKS_FILE = Path(__file__).with_name("tasks.yaml")
DIFFICULTIES = ("easy", "hard")


@dataclass(frozen=True)
class CodeTask:
    """The payload of a code :class:`~llm_modulo.types.Task`.

    ``signature`` is the ``def`` line; ``examples`` are shown in the prompt; ``suite`` holds
    the hidden tests; ``reference`` is a correct solution (for the independent re-check).
    """

    name: str
    difficulty: str
    signature: str
    docstring: str
    examples: tuple[CodeCase, ...]
    suite: CodeSuite
    reference: str


def _case(raw: Any, compare: str, where: str) -> CodeCase:
    if not isinstance(raw, dict) or "args" not in raw or ("expected" not in raw and "raises" not in raw):
        raise InputError(f"{where}: a test needs 'args' and 'expected' or 'raises'")
    return CodeCase(
        args=tuple(from_data(raw["args"])),
        kwargs=from_data(raw.get("kwargs") or {}),
        expected=from_data(raw.get("expected")),
        raises=raw.get("raises"),
        compare=raw.get("compare", compare),
    )


def _task(raw: dict[str, Any], source: Path) -> CodeTask:
    name = raw.get("name", "?")
    where = f"{source}: task {name!r}"
    missing = [k for k in ("name", "difficulty", "signature", "docstring", "tests", "reference") if k not in raw]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    if raw["difficulty"] not in DIFFICULTIES:
        raise InputError(f"{where}: difficulty must be one of {', '.join(DIFFICULTIES)}")
    compare = raw.get("compare", "exact")
    if compare not in COMPARE_MODES:
        raise InputError(f"{where}: unknown compare mode {compare!r}")
    signature = str(raw["signature"]).strip()
    if not signature.startswith(f"def {name}(") or not signature.endswith(":"):
        raise InputError(f"{where}: the signature must be the line 'def {name}(...):'")
    return CodeTask(
        name=name,
        difficulty=raw["difficulty"],
        signature=signature,
        docstring=str(raw["docstring"]).strip(),
        examples=tuple(_case(c, compare, where) for c in raw.get("examples") or ()),
        suite=CodeSuite(entry=name, cases=tuple(_case(c, compare, where) for c in raw["tests"])),
        reference=str(raw["reference"]),
    )


@lru_cache(maxsize=8)
def load_tasks(path: str | Path = TASKS_FILE) -> tuple[CodeTask, ...]:
    """Every task in a tasks file, in file order."""
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read code tasks {source}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise InputError(f"{source}: expected a mapping with a 'tasks' list")
    tasks = tuple(_task(raw, source) for raw in data["tasks"])
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"{source}: duplicate task names")
    return tasks
