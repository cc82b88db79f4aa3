"""``validate --plans``: many plans in one process, one JSON line out each.

Each (domain, problem) pair is parsed once and each domain's steps grounded once (:mod:`._validate`).
A batch read from a file or a folder, of at least :data:`SPLIT_AT` plans, on a machine that lets this
process use two cores, is checked in two processes: after the first problem is loaded (the imports and
the domain's parse done once), a forked child checks the second half of the plans into a temporary
file while this process checks the first half; the lines come out in input order. If the child fails,
this process checks its half itself: nothing is lost.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from llm_modulo.cli._plain import EXIT_NOT_VERIFIED, write
from llm_modulo.cli._validate import _CACHED_PROBLEMS, Loaded, judge, read_plan_file, short_message
from llm_modulo.errors import InputError, LLMModuloError

# below this a second process costs about what it saves (a fork and a temporary file: ~2 ms)
SPLIT_AT = 200


class _Item:
    """One plan of a batch: its id, where it came from, its text and files (or why it has none)."""

    def __init__(self, id: Any, where: dict[str, Any], *, domain: Any = "", problem: Any = "", error: str = "") -> None:
        self.id, self.where, self.domain, self.problem, self.error = id, where, domain, problem, error
        self.text = ""


def _jsonl_items(lines: Iterator[str], domain: str, problem: str) -> Iterator[_Item]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = {"line": n}
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield _Item(n, where, error=f"line {n} is not JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield _Item(n, where, error=f"line {n} is not a JSON object")
            continue
        item = _Item(obj.get("id", n), where, domain=obj.get("domain", domain), problem=obj.get("problem", problem))
        text = obj.get("plan")
        if not isinstance(text, str):
            item.error = f'line {n} has no "plan" string'
        elif not isinstance(item.domain, str) or not isinstance(item.problem, str):
            item.error = f'line {n}: "domain" and "problem" must be file paths'
        else:
            item.text = text
        yield item


def _folder_items(folder: Path, domain: str, problem: str) -> Iterator[_Item]:
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        item = _Item(path.name, {"file": str(path)}, domain=domain, problem=problem)
        try:
            item.text = read_plan_file(path)
        except InputError as exc:
            item.error = exc.format_message()
        yield item


def _batch_source(plans: Path) -> Iterator[str] | Path:
    """The lines of a JSONL file (``-``: stdin), or a folder of plan files."""
    if str(plans) == "-":
        return iter(sys.stdin)
    if plans.is_dir():
        return plans
    try:
        stream = plans.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(f"--plans: file not found: {plans}") from None
    except OSError as exc:
        raise InputError(f"--plans: cannot read {plans}: {exc.strerror or exc}") from None
    return iter(stream)


class _Checker:
    """Checks items, one (JSON line, kind) each, kind ``valid``, ``invalid`` or ``errors``."""

    def __init__(self, domain: str, problem: str, lenient: bool, domain_name: str | None) -> None:
        self.lenient, self.domain_name = lenient, domain_name
        self.texts: dict[str, str] = {}
        self.shared: dict[str, Any] = {}
        self.cache: dict[tuple[str, str], Loaded | str] = {
            (domain, problem): Loaded.load(domain, problem, domain_name, self.texts, self.shared)
        }

    def _loaded(self, item: _Item) -> Loaded:
        loaded = self.cache.get((item.domain, item.problem))
        if loaded is None:
            if len(self.cache) >= _CACHED_PROBLEMS:
                del self.cache[next(iter(self.cache))]
            try:
                loaded = Loaded.load(item.domain, item.problem, self.domain_name, self.texts, self.shared)
            except LLMModuloError as exc:
                loaded = exc.format_message()
            self.cache[(item.domain, item.problem)] = loaded
        if isinstance(loaded, str):
            raise InputError(loaded)
        return loaded

    def rows(self, items: Iterator[_Item] | list[_Item]) -> Iterator[tuple[str, str]]:
        for item in items:
            row: dict[str, Any] = {"id": item.id, **item.where}
            try:
                if item.error:
                    raise InputError(item.error)
                outcome = judge(self._loaded(item), item.text, lenient=self.lenient)
            except LLMModuloError as exc:
                row.update(valid=None, error=short_message(exc.format_message()))
                kind = "errors"
            else:
                row.update(valid=outcome.valid, steps=outcome.steps)
                row["failure"] = short_message(outcome.messages[0]) if outcome.messages else None
                if self.lenient:
                    row["skipped"] = [{"line": n, "text": line} for n, line in outcome.skipped]
                kind = "valid" if outcome.valid else "invalid"
            yield json.dumps(row), kind


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _spool() -> Any:
    """A temporary file for the child's lines: in memory on Linux (importing ``tempfile`` costs 3 ms)."""
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create("llm-modulo-validate"), "w+", encoding="utf-8")  # noqa: SIM115 - closed by in_two
    import tempfile

    return tempfile.TemporaryFile("w+", encoding="utf-8")


def in_two(items: list[Any], rows: Callable[[list[Any]], Iterator[tuple[str, str]]]) -> Iterator[tuple[str, str]]:
    """``rows(items)``, the second half computed by a forked child into a temporary file meanwhile; in order."""
    half = len(items) // 2
    try:  # no temporary file (a full disk): all here
        spool = _spool()
    except OSError:
        yield from rows(items)
        return
    with spool:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:  # no second process (a process limit): all here
            yield from rows(items)
            return
        if pid == 0:  # the child: its half into the file, then out without Python's exit handlers
            code = 1
            try:
                spool.writelines(f"{kind}\t{line}\n" for line, kind in rows(items[half:]))
                spool.flush()
                code = 0
            finally:
                os._exit(code)
        yield from rows(items[:half])
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            yield from rows(items[half:])
            return
        spool.seek(0)
        for entry in spool:
            kind, _, line = entry.rstrip("\n").partition("\t")
            yield line, kind


def run_batch(domain: str, problem: str, plans: Path, *, lenient: bool = False, domain_name: str | None = None) -> int:
    """Every plan of a JSONL file (``{"id", "plan"}``, optionally ``"domain"``/``"problem"`` paths) or
    a folder, one JSON line out each; exit 1 if any plan is invalid or bad, 2 for bad input to the
    command."""
    source = _batch_source(plans)
    checker = _Checker(domain, problem, lenient, domain_name)
    items = (
        _folder_items(source, domain, problem) if isinstance(source, Path) else _jsonl_items(source, domain, problem)
    )
    rows: Iterator[tuple[str, str]]
    if str(plans) != "-" and hasattr(os, "fork") and _cores() >= 2:
        listed = list(items)
        rows = in_two(listed, checker.rows) if len(listed) >= SPLIT_AT else checker.rows(listed)
    else:
        rows = checker.rows(items)
    counts = {"valid": 0, "invalid": 0, "errors": 0}
    out = sys.stdout
    # plans from a file, lines to a pipe or file: 8 KB writes, not one a line (stdin in: a line each, as it comes)
    if str(plans) != "-" and not out.isatty() and hasattr(out, "reconfigure"):
        out.reconfigure(line_buffering=False, write_through=False)
    for line, kind in rows:
        out.write(line + "\n")
        counts[kind] += 1
    total = sum(counts.values())
    summary = f"{total} plans: {counts['valid']} valid, {counts['invalid']} invalid, {counts['errors']} bad"
    write(summary, stream=sys.stderr)
    return 0 if total == counts["valid"] else EXIT_NOT_VERIFIED


__all__ = ["SPLIT_AT", "in_two", "run_batch"]
