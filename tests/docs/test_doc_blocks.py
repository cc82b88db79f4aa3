"""Every command and code block of the README and the guides in docs/ runs, and does what it says.

```bash blocks run line by line (a line ending in ``\\`` continues) from the repository root with the
virtual environment first on PATH; each command must exit 0. ```python blocks run as scripts, except
excerpts: a block whose first line is a comment naming a file of the repository must appear in
that file (whitespace aside), so the guide never quotes code that is not there. The README's
Python quick start must print what its comment says. Blocks that load the embedded model are slow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUIDES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)
EXCERPT = re.compile(r"^# (\S+\.\w+)\s*$")


def _blocks() -> list[tuple[str, str, str]]:
    found = []
    for path in GUIDES:
        text = path.read_text(encoding="utf-8")
        for n, match in enumerate(FENCE.finditer(text)):
            found.append((f"{path.relative_to(REPO)}#{n}", match.group(1), match.group(2)))
    return found


def _commands(block: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def _loads_the_embedded_model(kind: str, code: str) -> bool:
    if kind == "python":
        return "load_model()" in code
    return any(c.startswith("llm-modulo solve") and "--model" not in c for c in _commands(code))


BLOCKS = _blocks()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _params() -> list[object]:
    params = []
    for name, kind, code in BLOCKS:
        marks = [pytest.mark.slow] if _loads_the_embedded_model(kind, code) else []
        params.append(pytest.param(kind, code, id=name, marks=marks))
    return params


def test_the_guides_have_runnable_blocks():
    assert len(BLOCKS) >= 10
    assert any(name.startswith("README.md") and kind == "python" for name, kind, _ in BLOCKS)


@pytest.mark.parametrize(("kind", "code"), _params())
def test_block_runs(kind: str, code: str, tmp_path: Path) -> None:
    first = code.splitlines()[0]
    excerpt = EXCERPT.match(first)
    if kind == "python" and excerpt and (REPO / excerpt.group(1)).is_file():
        source = " ".join((REPO / excerpt.group(1)).read_text(encoding="utf-8").split())
        # "..." alone on a line marks code left out of the excerpt: each part must be in the file
        for part in re.split(r"^\s*\.\.\.\s*$", "\n".join(code.splitlines()[1:]), flags=re.M):
            assert " ".join(part.split()) in source, f"the excerpt is not in {excerpt.group(1)}:\n{part}"
        return
    if kind == "python":
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:]
        said = re.search(r"print\(.*\)\s*#\s*(.+)$", code, re.M)
        if said:  # the output the block's comment promises
            assert said.group(1).strip() in done.stdout, done.stdout[-2000:]
        return
    for command in _commands(code):
        done = subprocess.run(
            ["bash", "-c", command], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"


@pytest.mark.slow
def test_make_demo_solves_with_the_embedded_model() -> None:
    """The README's first set-up command, ``make demo``, is ``llm-modulo demo`` after the install
    (``make test``, the second, is the command that runs this suite)."""
    assert "\t$(VENV)/bin/llm-modulo demo\n" in (REPO / "Makefile").read_text(encoding="utf-8")
    done = subprocess.run(
        ["bash", "-c", "llm-modulo demo"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.lower().count("verified") >= 2, done.stdout[-2000:]
