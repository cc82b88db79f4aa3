"""The shape rule the project keeps: no package module over 400 lines (one idea per module)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "llm_modulo"
LIMIT = 400


def test_no_package_module_is_over_400_lines():
    over = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert not over, f"modules over {LIMIT} lines: {over}"
