"""Fuzzing the sweep config loader (``load_sweep``, what ``llm-modulo bench`` reads) with generated
TOML and YAML: a valid config mutated (random keys and values, wrong types, nested junk, huge
arrays and numbers, odd strings), then sometimes its bytes broken (non-UTF-8, NUL, truncation).
The loader returns a sweep or raises :class:`InputError` (one line), never anything else.

About 400 files; 15 s on one core.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from llm_modulo.errors import InputError
from llm_modulo.experiments.config import load_sweep

BASE: dict[str, Any] = {
    "name": "fuzz",
    "models": ["random"],
    "feedback": ["first"],
    "seeds": [0],
    "budgets": [{"samples": 4, "rounds": "none"}],
    "instance_sets": [{"domain": "blocksworld", "set": "blocksworld/generated_basic_3", "count": 2}],
    "strategies": [{"name": "best-of-n", "n": 2, "constrained": "well-formed"}],
    "sampling": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 64},
}
KEYS = [
    *BASE,
    "style",
    "description",
    "domain",
    "set",
    "count",
    "ids",
    "start",
    "name",
    "n",
    "k",
    "label",
    "domain_options",
    "samples",
    "rounds",
    "tokens",
    "seconds",
    "temperature",
    "top_p",
    "max_tokens",
    "one_shot",
    "cot",
    "history",
    "constrained",
    "",
    "é",
    "a.b",
    "\x00",
]
WORDS = [
    "random",
    "default",
    "none",
    "inf",
    "first",
    "all",
    "blocksworld",
    "game24",
    "coloring",
    "pddl",
    "nl",
    "modulo",
    "direct",
    "search",
    "scripted:missing.txt",
    "openai:",
    "openai:http://[::1",
    "../../etc",
    "/dev/null",
    "~",
    "é\u202e",
    "\x00",
    "",
    " ",
    "a" * 5000,
]
SCALARS = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 2**31, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(data: dict[str, Any]) -> str:
    """Top-level keys as ``key = value`` lines, tables and arrays inline (valid TOML for any data)."""
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in data.items())


@st.composite
def configs(draw: st.DrawFn) -> tuple[str, bytes]:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(0, 4))):
        holder: Any = data
        while isinstance(holder, (dict, list)) and holder and draw(st.booleans()):  # walk down a little
            key = draw(st.sampled_from(list(holder) if isinstance(holder, dict) else range(len(holder))))
            if not isinstance(holder[key], (dict, list)):
                break
            holder = holder[key]
        action = draw(st.sampled_from(["set", "set", "delete", "huge"]))
        if isinstance(holder, list):
            if action == "delete" and holder:
                holder.pop()
            else:
                holder.append(draw(VALUES))
            continue
        key = draw(st.sampled_from(list(holder) + KEYS))
        if action == "delete":
            holder.pop(key, None)
        elif action == "huge":
            holder[key] = draw(st.sampled_from([list(range(20_000)), ["random"] * 5000, [0] * 20_000, 10**40]))
        else:
            holder[key] = draw(VALUES)
    fmt = draw(st.sampled_from(["toml", "toml", "yaml"]))
    try:
        text = to_toml(data) if fmt == "toml" else yaml.safe_dump(data, allow_unicode=True)
    except (ValueError, yaml.YAMLError):  # a value TOML cannot write (10**40): write it as is
        text = to_toml({k: v for k, v in data.items() if k != "seeds"}) + "seeds = 1" + "0" * 40 + "\n"
    raw = text.encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none", "none", "none", "bytes", "truncate", "nul"]))
    if damage == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    elif damage == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "nul":
        raw = raw.replace(b"\n", b"\x00\n", 1)
    return fmt, raw


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, planbench: Path) -> Path:
    return tmp_path_factory.mktemp("fuzz-config")


def test_base_config_loads(folder: Path) -> None:
    path = folder / "base.toml"
    path.write_text(to_toml(BASE))
    assert len(load_sweep(path).trials) == 2


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(case=configs())
def test_fuzz_config_loads_or_is_one_line_input_error(folder: Path, case: tuple[str, bytes]) -> None:
    fmt, raw = case
    path = folder / f"sweep.{fmt}"
    path.write_bytes(raw)
    try:
        sweep = load_sweep(path)
    except InputError as exc:
        message = exc.format_message()
        assert message and "\n" not in message.strip() and len(message) < 20_000, message[:500]
        event("input error")
    else:
        assert sweep.trials is not None
        event("loaded")


def test_a_grid_of_10_to_the_8_trials_is_an_input_error_not_hours(folder: Path) -> None:
    path = folder / "huge.toml"
    path.write_text(to_toml({**BASE, "models": ["random"] * 5000, "seeds": list(range(10_000))}))
    with pytest.raises(InputError, match="100,000,000 trials"):
        load_sweep(path)
