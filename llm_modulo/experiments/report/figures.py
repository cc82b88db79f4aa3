"""The report's figures: matplotlib on an Agg canvas, imported only when a figure is drawn."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.experiments.report.arms import ANYTIME, FEEDBACK_ORDER, UNITS, ArmSummary, mean_of
from llm_modulo.experiments.report.compare import budget_families, extent, has_usage, success_curve
from llm_modulo.experiments.stats import wilson_interval


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is in the [bench] extra
        raise InputError("figures need matplotlib: pip install 'llm-modulo[bench]'") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


_COLOURS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
)


def _legend_name(a: ArmSummary) -> str:
    suffix = " · random" if a.proposer == "random" and "random" not in a.name.lower() else ""
    return a.name + suffix


def figure_success(arms: Sequence[ArmSummary], path: Path, title: str) -> Path:
    """Horizontal bars: success rate per arm with 95% Wilson error bars; grey = random proposer."""
    fig = _figure(8.5, 1.2 + 0.42 * len(arms))
    ax = fig.add_subplot()
    ys = list(range(len(arms)))[::-1]
    rates = [100 * a.rate for a in arms]
    err = [[100 * (a.rate - a.lo) for a in arms], [100 * (a.hi - a.rate) for a in arms]]
    colours = ["tab:gray" if a.proposer == "random" else "tab:blue" for a in arms]
    ax.barh(ys, rates, xerr=err, color=colours, capsize=3, height=0.6)
    ax.set_yticks(
        ys, [_legend_name(a) + ("" if a.budget_label in a.name else f"\n{a.budget_label}") for a in arms], fontsize=8
    )
    for y, a in zip(ys, arms, strict=False):
        ax.text(min(100 * a.hi + 1.5, 101), y, f"{a.solved}/{a.trials}", va="center", fontsize=8)
    ax.set_xlim(0, 112)
    ax.set_xlabel("success rate (%), 95% Wilson interval")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def figure_budget(arms: Sequence[ArmSummary], path: Path, title: str) -> Path:
    """Success versus budget, x = samples used and x = generated tokens: small multiples, one row
    per strategy, so a figure of many arms stays readable. In a row each arm family (one label and
    model across budgets) is one line; the random control is drawn dashed in its LLM arm's colour
    beside it; families whose curves are identical (e.g. every arm at 0%) are one line whose legend
    names them all."""
    rows: dict[str, list[list[ArmSummary]]] = {}
    for family in budget_families(arms):
        if any(_curve_key(family, unit) != _NOTHING for unit in ("samples", "tokens")):
            rows.setdefault(family[-1].strategy, []).append(family)
    if not rows:  # nothing measured in samples or tokens (e.g. search alone): an empty frame says so
        rows = {"(no sample or token budgets)": []}
    fig = _figure(12, 0.8 + 2.9 * len(rows))
    axes = fig.subplots(len(rows), 2, squeeze=False)
    for (strategy, families), row in zip(rows.items(), axes, strict=True):
        colours = _colours(families)
        for ax, unit in zip(row, ("samples", "tokens"), strict=True):
            merged: dict[tuple[Any, ...], list[list[ArmSummary]]] = {}
            for family in families:
                merged.setdefault(_curve_key(family, unit), []).append(family)
            for same in merged.values():
                first = same[0]
                colour = colours[id(first)]
                style = "--" if all(f[0].proposer == "random" for f in same) else "-"
                label = " = ".join(_legend_name(f[-1]) for f in same)
                _draw_family(ax, first, unit, colour, style, label, bands=len(merged) <= 3)
            ax.set_xlabel(f"budget: {UNITS[unit][1]}", fontsize=8)
            ax.set_ylabel(f"{strategy}\nsolved (%)", fontsize=8)
            ax.set_ylim(-2, 102)
            ax.set_xlim(left=0)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


_NOTHING = ("points", ())


def _arm_of(family: Sequence[ArmSummary]) -> tuple[str, str]:
    return family[-1].label, family[-1].feedback


def _colours(families: Sequence[Sequence[ArmSummary]]) -> dict[int, str]:
    """id(family) -> colour: one per LLM arm; a random control takes its arm's colour when one LLM
    ran that arm (it is drawn dashed beside it), else grey."""
    llm = [f for f in families if f[0].proposer != "random"]
    colours = {id(f): _COLOURS[i % len(_COLOURS)] for i, f in enumerate(llm)}
    for f in families:
        if f[0].proposer == "random":
            twins = [g for g in llm if _arm_of(g) == _arm_of(f)]
            colours[id(f)] = colours[id(twins[0])] if len(twins) == 1 else "tab:gray"
    return colours


def _curve_key(family: Sequence[ArmSummary], unit: str) -> tuple[Any, ...]:
    """What a family's line on ``unit`` looks like (rounded): families with one key draw alike."""
    largest = family[-1]
    if largest.strategy in ANYTIME and largest.trials and has_usage(largest, unit):
        xs, ks, n = success_curve(largest.rows, unit, extent(largest, unit))
        return ("curve", tuple(round(x, 3) for x in xs), tuple(round(k / n, 4) for k in ks))
    points = sorted(
        (round(x, 3), round(a.rate, 4), round(a.lo, 4), round(a.hi, 4))
        for a in family
        if a.trials and (x := _measured_x(a, unit)) is not None
    )
    return ("points", tuple(points))


def _draw_family(
    ax: Any, family: Sequence[ArmSummary], unit: str, colour: str, style: str, label: str, bands: bool
) -> None:
    largest = family[-1]
    if largest.strategy in ANYTIME and largest.trials and has_usage(largest, unit):
        xs, ks, n = success_curve(largest.rows, unit, extent(largest, unit))
        ys = [100 * k / n for k in ks]
        ax.step(xs, ys, where="post", color=colour, linestyle=style, label=label)
        ax.plot([xs[-1]], [ys[-1]], marker="|", markersize=10, color=colour)  # the cap: the line ends here
        if bands:
            interval = [wilson_interval(k, n) for k in ks]
            ax.fill_between(
                xs,
                [100 * b[0] for b in interval],
                [100 * b[1] for b in interval],
                step="post",
                color=colour,
                alpha=0.10,
                linewidth=0,
            )
        measured = [a for a in family[:-1] if a.cap(unit) is not None]
    else:
        measured = [a for a in family if a.trials]
        pts = sorted((x, 100 * a.rate) for a in measured if (x := _measured_x(a, unit)) is not None)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, linestyle=":" if style == "-" else style)
            ax.plot([], [], color=colour, linestyle=style, label=label + " (measured settings)")
    for a in measured:
        x = _measured_x(a, unit)
        if x is None or not a.trials:
            continue
        ax.errorbar(
            [x],
            [100 * a.rate],
            yerr=[[100 * (a.rate - a.lo)], [100 * (a.hi - a.rate)]],
            fmt="o",
            color=colour,
            capsize=3,
            markersize=4,
        )


def _measured_x(a: ArmSummary, unit: str) -> float | None:
    cap = a.cap(unit)
    if cap is not None:
        return cap
    return mean_of(r.get(UNITS[unit][0]) for r in a.rows)


def figure_rounds(arms: Sequence[ArmSummary], path: Path, title: str) -> Path:
    """Rounds to success of the solved trials, one bar series per modulo arm."""
    fig = _figure(9, 4.2)
    ax = fig.add_subplot()
    series = [(a, [int(r["rounds"]) for r in a.rows if r["verified"] and r.get("rounds") is not None]) for a in arms]
    series = [(a, v) for a, v in series if v]
    top = max(max(v) for _, v in series)
    bins = list(range(1, top + 1))
    width = 0.8 / len(series)
    for i, (a, values) in enumerate(series):
        counts = Counter(values)
        xs = [b - 0.4 + width * (i + 0.5) for b in bins]
        ax.bar(
            xs,
            [counts.get(b, 0) for b in bins],
            width=width,
            color=_COLOURS[i % len(_COLOURS)],
            label=f"{_legend_name(a)} ({len(values)} solved of {a.trials})",
        )
    ax.set_xticks(bins if len(bins) <= 30 else bins[:: math.ceil(len(bins) / 30)])
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("rounds to success")
    ax.set_ylabel("solved trials")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def figure_feedback(families: Sequence[Sequence[ArmSummary]], path: Path, title: str) -> Path:
    """Success rate per feedback level, one bar series per modulo family, Wilson error bars."""
    levels = [lvl for lvl in FEEDBACK_ORDER if any(a.feedback == lvl for f in families for a in f)]
    levels += sorted({a.feedback for f in families for a in f} - set(levels))
    fig = _figure(8, 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(families)
    for i, family in enumerate(families):
        by_level = {a.feedback: a for a in family}
        xs, ys, lo, hi = [], [], [], []
        for j, lvl in enumerate(levels):
            a = by_level.get(lvl)
            if a is None or not a.trials:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(100 * a.rate)
            lo.append(100 * (a.rate - a.lo))
            hi.append(100 * (a.hi - a.rate))
        colour = "tab:gray" if family[0].proposer == "random" else _COLOURS[i % len(_COLOURS)]
        label = f"{family[0].label} · {family[0].model} · {family[0].budget_label}"
        ax.bar(
            xs,
            ys,
            width=width,
            yerr=[lo, hi],
            capsize=3,
            color=colour,
            label=label,
            hatch="//" if family[0].proposer == "random" else None,
            edgecolor="white",
        )
    ax.set_xticks(range(len(levels)), levels)
    ax.set_xlabel("feedback level given back to the proposer")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
