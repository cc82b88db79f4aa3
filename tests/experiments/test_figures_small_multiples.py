"""The success-versus-budget figure stays readable with many arms: one row per strategy, the control
in its arm's colour beside it, identical curves drawn once with every name in the legend."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from llm_modulo.experiments.report import (  # noqa: E402
    figures,  # noqa: E402
    load_trials,
    summarise,
)

GOLDEN = Path(__file__).parent / "data" / "golden.sqlite"


def _arms(instance_set: str):
    return [a for a in summarise(load_trials(GOLDEN)) if a.instance_set == instance_set]


def test_one_row_per_strategy_with_the_control_beside_its_arm(tmp_path, monkeypatch):
    drawn: list[tuple[str, str, str]] = []  # (row strategy, label, linestyle)
    real = figures._draw_family

    def spy(ax, family, unit, colour, style, label, bands):
        drawn.append((family[-1].strategy, label, colour + style))
        real(ax, family, unit, colour, style, label, bands)

    monkeypatch.setattr(figures, "_draw_family", spy)
    arms = _arms("blocksworld/generated_basic")
    path = figures.figure_budget(arms, tmp_path / "budget.png", "t")
    assert path.stat().st_size > 0
    modulo = [(label, look) for strategy, label, look in drawn if strategy == "modulo"]
    first = {label: look for label, look in modulo if "feedback first" in label}
    llm, control = sorted(first, key=lambda label: "random" in label)
    assert first[llm][:-1] != "" and first[llm].rstrip("-") == first[control].rstrip("-")  # one colour
    assert first[llm].endswith("-") and not first[llm].endswith("--") and first[control].endswith("--")


def test_identical_curves_are_one_line_naming_every_arm(tmp_path, monkeypatch):
    arms = _arms("blocksworld/generated_basic")
    direct = [a for a in arms if a.strategy == "direct"]
    assert direct
    twin = [type(a)(**{**a.__dict__, "model": a.model + "-twin", "name": a.name + " twin"}) for a in direct]
    labels: list[str] = []
    real = figures._draw_family

    def spy(ax, family, unit, colour, style, label, bands):
        labels.append(label)
        real(ax, family, unit, colour, style, label, bands)

    monkeypatch.setattr(figures, "_draw_family", spy)
    figures.figure_budget(direct + twin, tmp_path / "b.png", "t")
    assert labels and all(" = " in label and "twin" in label for label in labels)
