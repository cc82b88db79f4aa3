"""Comparisons between the arms of one group: LLM versus the random control, who leads at each
budget, and the families of arms that differ only in feedback level or in budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llm_modulo.experiments.report.arms import (
    ANYTIME,
    BUDGET_KEYS,
    FEEDBACK_KEYS,
    FEEDBACK_ORDER,
    MODEL_KEYS,
    UNITS,
    ArmSummary,
    budget_size,
    group_arms,
)
from llm_modulo.experiments.report.formatting import ci, num, pct
from llm_modulo.experiments.stats import succeeded, wilson_interval


@dataclass
class ControlComparison:
    """An LLM arm next to the random proposer under the same strategy and budget."""

    llm: ArmSummary
    random: ArmSummary | None
    match: str  # "same settings" | "same strategy and budget" | ""
    sentence: str


def compare_controls(arms: Sequence[ArmSummary]) -> list[ControlComparison]:
    """For each LLM arm, the random-proposer arm(s) of its group under the same strategy and budget.

    Arms whose configs agree once the model is set aside are paired ("same settings"); otherwise
    every random arm with the same strategy, budget (and feedback level, where one matches) is shown.
    """
    rows: list[ControlComparison] = []
    for group in group_arms(arms).values():
        randoms = [a for a in group if a.proposer == "random"]
        for a in (a for a in group if a.proposer != "random"):
            same = [r for r in randoms if r.strategy == a.strategy and r.budget_label == a.budget_label]
            exact = [r for r in same if r.signature(MODEL_KEYS) == a.signature(MODEL_KEYS)]
            chosen, match = (
                (exact, "same settings")
                if exact
                else ([r for r in same if r.feedback == a.feedback] or same, "same strategy and budget")
            )
            if not chosen:
                rows.append(ControlComparison(a, None, "", f"No random control ran {a.strategy} at {a.budget_label}."))
            for r in chosen:
                rows.append(ControlComparison(a, r, match, _control_sentence(a, r)))
    return rows


def _control_sentence(llm: ArmSummary, rnd: ArmSummary) -> str:
    if not llm.trials or not rnd.trials:
        return "Not comparable: one side has no completed trials."
    if llm.lo > rnd.hi:
        return f"The LLM beats the random control ({pct(llm.rate)} vs {pct(rnd.rate)}; the intervals do not overlap)."
    if rnd.lo > llm.hi:
        return (
            f"The random control beats the LLM ({pct(rnd.rate)} vs {pct(llm.rate)}; the intervals do not "
            "overlap): the critics and the grammar do the work, not the model."
        )
    if rnd.rate >= llm.rate:
        return (
            f"The random control is as good as the LLM ({pct(rnd.rate)} vs {pct(llm.rate)}; the intervals "
            "overlap): no measurable contribution from the model."
        )
    return (
        f"The random control is as good as the LLM within the noise ({pct(rnd.rate)} vs {pct(llm.rate)}; "
        "the intervals overlap): no clear contribution from the model."
    )


def success_curve(rows: Sequence[dict[str, Any]], unit: str, extent: float) -> tuple[list[float], list[int], int]:
    """Anytime success counts: a trial solved after using ``u`` of ``unit`` counts as solved at every
    budget >= u. Returns step points (x, solved count) from 0 to ``extent`` and the number of trials."""
    column = UNITS[unit][0]
    used = sorted(min(float(r[column]), extent) if r.get(column) is not None else extent for r in rows if succeeded(r))
    xs, ks = [0.0], [0]
    for i, u in enumerate(used, 1):
        if u == xs[-1]:
            ks[-1] = i
        else:
            xs.append(u)
            ks.append(i)
    if xs[-1] < extent:
        xs.append(extent)
        ks.append(ks[-1])
    return xs, ks, len(rows)


def has_usage(arm: ArmSummary, unit: str) -> bool:
    """Whether any trial of the arm recorded how much of ``unit`` it used."""
    return any(r.get(UNITS[unit][0]) is not None for r in arm.rows)


def extent(arm: ArmSummary, unit: str) -> float:
    """How far along ``unit`` the arm's curve is defined: its cap, else the most any trial used."""
    cap = arm.cap(unit)
    if cap is not None:
        return cap
    used = [float(r[UNITS[unit][0]]) for r in arm.rows if r.get(UNITS[unit][0]) is not None]
    return max(used, default=0.0)


def solved_at(arm: ArmSummary, unit: str, budget: float) -> int | None:
    """How many of the arm's trials are solved within ``budget`` of ``unit``, or None where the arm
    says nothing about that budget (its cap is below it, or it is not an anytime strategy)."""
    cap = arm.cap(unit)
    if arm.strategy not in ANYTIME:
        return arm.solved if cap == budget else None
    if (cap is not None and budget > cap) or not has_usage(arm, unit):
        return None
    column = UNITS[unit][0]
    end = extent(arm, unit)  # a solved trial with no usage recorded counts at the end of the curve
    return sum(
        1
        for r in arm.rows
        if succeeded(r) and (float(r[column]) <= budget if r.get(column) is not None else budget >= end)
    )


@dataclass
class BudgetWinner:
    budget: float
    unit: str
    ranked: list[tuple[ArmSummary, int, float, float, float]]  # (arm, solved, rate, lo, hi), best first
    sentence: str


def winners_by_budget(arms: Sequence[ArmSummary], unit: str = "samples", max_points: int = 8) -> list[BudgetWinner]:
    """Which arm leads at each sample budget of one group (caps in the store, plus powers of two below).

    At budget b an anytime arm counts what it solved within b (if its cap allows b); other arms
    count only at their own cap. Of arms that differ only in budget, the one with the smallest cap
    that allows b speaks for the family. "Clearly ahead" means the leader's Wilson interval lies above the runner-up's.
    """
    column = UNITS[unit][0]
    # an arm with no cap in ``unit`` that never spent any (search scores steps instead of sampling) is not on this axis
    arms = [a for a in arms if a.cap(unit) is not None or any((r.get(column) or 0) > 0 for r in a.rows)]
    caps = sorted({c for a in arms if (c := a.cap(unit)) is not None and c > 0})
    grid = set(caps)
    if caps:
        p = 1.0
        while p < caps[-1]:
            grid.add(p)
            p *= 2
    points = sorted(grid)
    if len(points) > max_points:  # keep every cap, thin the powers of two
        keep = set(caps)
        rest = [p for p in points if p not in keep]
        step = max(1, math.ceil(len(rest) / max(1, max_points - len(keep))))
        points = sorted(keep | set(rest[::step]))
    out = []
    families = budget_families(arms)
    for b in points:
        ranked = []
        for family in families:
            # one member per family: the one that ran with the smallest cap that allows b (measured there if == b)
            able = [a for a in family if a.trials and solved_at(a, unit, b) is not None]
            if not able:
                continue
            a = min(able, key=lambda a: (a.cap(unit) is None, a.cap(unit) or 0.0))
            k = solved_at(a, unit, b) or 0
            lo, hi = wilson_interval(k, a.trials)
            ranked.append((a, k, k / a.trials, lo, hi))
        if not ranked:
            continue
        ranked.sort(key=lambda t: (-t[2], -t[3], t[0].name))
        out.append(BudgetWinner(b, unit, ranked, _winner_sentence(b, unit, ranked)))
    return out


def winners_by_calls(arms: Sequence[ArmSummary], max_points: int = 8) -> list[BudgetWinner]:
    """Which arm leads when every instance may cost at most ``b`` LLM calls (equal compute across strategies).

    Every arm counts the trials it certified with at most ``b`` calls (its trials' own usage; a
    batched call of n samples is one call, a search expansion is one scoring call), so a 1-call
    method is compared at every budget with what it achieved in one call.
    """
    used = [a for a in arms if a.trials and any(r.get("llm_calls") is not None for r in a.rows)]
    top = max((float(r["llm_calls"]) for a in used for r in a.rows if r.get("llm_calls") is not None), default=0.0)
    points: list[float] = []
    p = 1.0
    while p < top:
        points.append(p)
        p *= 2
    if top >= 1:
        points.append(float(math.ceil(top)))
    if len(points) > max_points:
        step = math.ceil(len(points) / max_points)
        points = sorted(set(points[::step]) | {points[-1]})
    out = []
    for b in points:
        ranked = []
        for a in used:
            k = sum(1 for r in a.rows if succeeded(r) and r.get("llm_calls") is not None and float(r["llm_calls"]) <= b)
            lo, hi = wilson_interval(k, a.trials)
            ranked.append((a, k, k / a.trials, lo, hi))
        ranked.sort(key=lambda t: (-t[2], -t[3], t[0].name))
        out.append(BudgetWinner(b, "LLM calls", ranked, _winner_sentence(b, "LLM calls", ranked)))
    return out


def _winner_sentence(b: float, unit: str, ranked: list[tuple[ArmSummary, int, float, float, float]]) -> str:
    at = f"At {num(b)} {unit.removesuffix('s') if b == 1 else unit}"
    lead, k, rate, lo, hi = ranked[0]
    if rate == 0:
        return f"{at}: no arm has solved anything at this budget ({len(ranked)} arm(s) compared)."
    lead_txt = f"**{lead.name}** ({lead.proposer}, {lead.strategy}) {pct(rate)} {ci(lo, hi)}"
    if len(ranked) == 1:
        return f"{at}: only {lead_txt} has data."
    tied = [t for t in ranked[1:] if t[2] == rate]
    if tied:
        names = ", ".join(f"**{t[0].name}**" for t in tied)
        return f"{at}: a tie at {pct(rate)} between **{lead.name}** and {names}."
    runner, _, r_rate, r_lo, r_hi = ranked[1]
    if lo > r_hi:
        return f"{at}: {lead_txt} wins, clearly ahead of {runner.name} {pct(r_rate)} {ci(r_lo, r_hi)}."
    return (
        f"{at}: {lead_txt} leads, but not clearly: {runner.name} {pct(r_rate)} {ci(r_lo, r_hi)} "
        "is within the intervals."
    )


def feedback_families(arms: Sequence[ArmSummary]) -> list[list[ArmSummary]]:
    """Modulo arms of one group that differ only in feedback level (each family in FEEDBACK_ORDER)."""
    families: dict[tuple[str, ...], list[ArmSummary]] = {}
    for a in arms:
        if a.strategy == "modulo":
            key = (a.model, a.budget_label, a.signature(FEEDBACK_KEYS))
            families.setdefault(key, []).append(a)
    order = {lvl: i for i, lvl in enumerate(FEEDBACK_ORDER)}
    return [sorted(f, key=lambda a: (order.get(a.feedback, 99), a.feedback)) for f in families.values()]


def budget_families(arms: Sequence[ArmSummary]) -> list[list[ArmSummary]]:
    """Arms of one group that differ only in budget, smallest budget first."""
    families: dict[tuple[str, ...], list[ArmSummary]] = {}
    for a in arms:
        families.setdefault((a.model, a.strategy, a.signature(BUDGET_KEYS)), []).append(a)
    return [sorted(f, key=lambda a: budget_size(a.budget)) for f in families.values()]
