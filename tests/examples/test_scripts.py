"""Every script in examples/ runs as its docstring says. (The embedded model on the same task is the
README's Python quick start, which tests/docs runs.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=EXAMPLES.parent, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_script_is_covered_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["own_critic.py", "solve_sussman.py"]


def test_own_critic_certifies_with_the_hard_critic_only():
    assert _run("examples/own_critic.py").split() == ["verified", "['plan-validator:valid']"]


def test_solve_sussman_with_the_random_control():
    lines = _run("examples/solve_sussman.py", "--model", "random").splitlines()
    assert lines[0] == "verified" and len(lines) == 7
