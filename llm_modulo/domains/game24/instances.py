"""Game-of-24 instances: Tree of Thoughts' 1,362 puzzles by rank, or a puzzle the user writes."""

from __future__ import annotations

import csv
import os
import re
from functools import lru_cache
from pathlib import Path

from llm_modulo.errors import InputError

ENV_VAR = "LLM_MODULO_BENCHMARKS"
CSV = Path("game24") / "24.csv"
SETS = {"test": (901, 1000), "all": None}
MAX_NUMBERS = 4  # the answer grammar enumerates every expression: 5 numbers give 145,000 lines


def data_file() -> Path:
    """``game24/24.csv`` under ``$LLM_MODULO_BENCHMARKS``, else under ``shared/benchmarks`` beside
    the current folder or one of its parents, then beside this source tree."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env) / CSV
        if not path.is_file():
            raise InputError(f"Game-of-24 data not found: no file {path} (from ${ENV_VAR})")
        return path
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in [start, *start.parents]:
            for root in (folder / "shared" / "benchmarks", folder / "benchmarks"):
                if (root / CSV).is_file():
                    return root / CSV
    raise InputError(
        f"Game-of-24 data not found: set ${ENV_VAR} to the folder that holds game24/24.csv "
        "(in a checkout it is ../shared/benchmarks)"
    )


@lru_cache(maxsize=4)
def _read(path: str) -> dict[int, tuple[int, ...]]:
    with open(path, newline="") as fh:
        return {int(row["Rank"]): tuple(int(x) for x in row["Puzzles"].split()) for row in csv.DictReader(fh)}


def puzzles() -> dict[int, tuple[int, ...]]:
    """Rank -> the four numbers, for every puzzle in the data file."""
    return _read(str(data_file()))


def instance_names(set_name: str) -> list[str]:
    """Ranks of a named set: "test" (901-1000, Tree of Thoughts' test set) or "all"."""
    if set_name not in SETS:
        raise InputError(f"unknown Game-of-24 instance set {set_name!r}; known: {', '.join(SETS)}")
    bounds = SETS[set_name]
    ranks = sorted(puzzles())
    if bounds is not None:
        ranks = [r for r in ranks if bounds[0] <= r <= bounds[1]]
    return [str(r) for r in ranks]


def resolve(instance: str) -> tuple[tuple[int, ...], int | None]:
    """(numbers, rank) for a rank ("901") or an explicit puzzle ("4 4 4 4", "4,4,4,4")."""
    text = instance.strip()
    if re.fullmatch(r"\d+", text):
        table = puzzles()
        rank = int(text)
        if rank not in table:
            raise InputError(f"unknown Game-of-24 rank {text}; ranks run from {min(table)} to {max(table)}")
        return table[rank], rank
    tokens = [t for t in re.split(r"[\s,;]+", text) if t]
    if not tokens or not all(re.fullmatch(r"\d+", t) for t in tokens):
        raise InputError(
            f"unknown Game-of-24 instance {instance!r}: give a rank (e.g. 901) or non-negative whole numbers (e.g. '4 4 6 8')"
        )
    if len(tokens) > MAX_NUMBERS:
        raise InputError(f"a Game-of-24 puzzle has at most {MAX_NUMBERS} numbers, not {len(tokens)}")
    return tuple(int(t) for t in tokens), None
