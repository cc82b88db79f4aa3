"""Meeting scheduling: place a few meetings in a working day (9-17) so that nobody is double-booked
or in a meeting during a busy hour. The answer is one line per meeting, "Name: HH" (its start hour).

Every rule is one named z3 constraint (:func:`rules`), used three ways: over an answer's hours it
is the hard critic, over free variables it proves a task unsolvable, and over a partial answer it
offers only the hours that still fit (the executable grammar).
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from typing import Any

import z3

from llm_modulo import (
    BaseDomain,
    Candidate,
    Critic,
    InputError,
    LineConstraint,
    Task,
    Verdict,
    VerdictStatus,
    Violation,
    Wording,
)
from llm_modulo.verifiers.base import BaseCritic
from llm_modulo.verifiers.smt import Z3_LOCK, Constraint, SMTCritic

DAY, END = (9, 17), "[END]"
NAMES = ("Standup", "Review", "Planning", "Design", "Retro", "Demo", "Hiring", "Budget")
PEOPLE = ("Ana", "Ben", "Chen", "Dee")
LINE = re.compile(r"^\s*([A-Za-z][\w ]*?)\s*:\s*(\d{1,2})\b")


@dataclass(frozen=True)
class Meetings:
    hours: dict[str, int]  # meeting -> duration
    attendees: dict[str, tuple[str, ...]]
    busy: dict[str, tuple[int, ...]]  # person -> busy hours (h: from h:00 to h+1:00)


def read(text: str) -> list[list[Any]]:
    """The [meeting, hour] pairs of the "Name: HH" lines before the end marker."""
    return [[m[1], int(m[2])] for m in map(LINE.match, text.split(END)[0].splitlines()) if m]


def rules(m: Meetings, starts: dict[str, Any], lines: dict[str, int]) -> list[Constraint]:
    """Every rule on the meetings in ``starts`` (z3 terms); ``lines``: each meeting's answer line."""
    found = []
    for n, s in starts.items():
        d, at = m.hours[n], {"meeting": n, "step": lines.get(n)}
        day = z3.And(s >= DAY[0], s + d <= DAY[1])
        found.append(Constraint(f"{n} in day", day, "outside_day", f"{n} is outside the working day", at))
        for p in m.attendees[n]:
            free = z3.And([z3.Or(s + d <= h, s > h) for h in m.busy[p]])
            found.append(Constraint(f"{p} free for {n}", free, "busy", f"{p} is busy", {**at, "person": p}))
    for i, a in enumerate(starts):
        for b in list(starts)[i + 1 :]:
            if shared := sorted(set(m.attendees[a]) & set(m.attendees[b])):
                apart = z3.Or(starts[a] + m.hours[a] <= starts[b], starts[b] + m.hours[b] <= starts[a])
                both = {"meetings": [a, b], "people": shared, "step": max(lines[a], lines[b]) if lines else None}
                found.append(Constraint(f"{a} apart from {b}", apart, "double_booked", f"{a} and {b} overlap", both))
    return found


class MeetingRules:
    """The z3 encoding that :class:`SMTCritic` checks answers against and refutes tasks with."""

    name = "meetings"

    def candidate_constraints(self, task: Task, answer: list[list[Any]]) -> list[Constraint]:
        m, starts, lines, extra = task.payload, {}, {}, []
        for i, (n, hour) in enumerate(answer, 1):
            if n in m.hours and n not in starts:
                starts[n], lines[n] = z3.IntVal(hour), i
            else:
                msg = f"{n} is not a meeting to schedule, or is scheduled twice"
                extra.append(Constraint(f"line {i}", z3.BoolVal(False), "unknown_meeting", msg, {"step": i}))
        extra += [
            Constraint(f"{n} scheduled", z3.BoolVal(False), "missing", f"{n} has no start hour", {})
            for n in m.hours
            if n not in starts
        ]
        return rules(m, starts, lines) + extra

    def problem(self, task: Task) -> list[Any]:
        return [c.formula for c in rules(task.payload, {n: z3.Int(n) for n in task.payload.hours}, {})]

    def decode(self, task: Task, model: Any) -> list[list[Any]]:
        return [[n, model.eval(z3.Int(n)).as_long()] for n in task.payload.hours]

    def no_solution_message(self, task: Task) -> str:
        return "no schedule fits every meeting into the day"


class FinishEarly(BaseCritic):
    """Soft: people would rather be done by 16:00. Its findings are advice; it never certifies or blocks."""

    name, hard = "finish-early", False

    def _check(self, task: Task, candidate: Candidate) -> Verdict:
        late = [
            Violation(kind="late", step=i, message=f"{n} ends after 16:00; people prefer to finish by then")
            for i, (n, h) in enumerate(candidate.answer, 1)
            if h + task.payload.hours.get(n, 0) > 16
        ]
        status = VerdictStatus.INVALID if late else VerdictStatus.VALID
        return Verdict(status=status, critic=self.name, violations=late, score=0.5 if late else 1.0, engine="python")


class MeetingsDomain(BaseDomain):
    name = "meetings"
    wording = Wording(rejected="The schedule is not valid.", accepted="The schedule is valid.")
    retry_request = "Please give a corrected schedule."
    instance_sets = ("small",)

    def instructions(self, task: Task) -> str:
        m: Meetings = task.payload
        meets = "".join(f"- {n} ({d} h): {', '.join(m.attendees[n])}\n" for n, d in m.hours.items())
        busy = "".join(f"- {p}: {', '.join(f'{h}:00' for h in hs)}\n" for p, hs in m.busy.items() if hs)
        return (
            "Schedule these meetings in one working day, 9:00 to 17:00, each starting on the hour.\n"
            f"Meetings (duration: attendees):\n{meets}Busy hours (each one hour long):\n{busy}"
            "Nobody may attend two meetings at once or a meeting during a busy hour. Answer with one line "
            f'per meeting, "Meeting: HH" (its start hour, e.g. "{next(iter(m.hours))}: 13"), then {END}.'
        )

    def parse(self, task: Task, text: str) -> Candidate:
        if pairs := read(text):
            return Candidate(text=text, answer=pairs)
        return Candidate(text=text, answer=None, parse_errors=['no line of the form "Meeting: HH" was found'])

    def critics(self, task: Task) -> list[Critic]:
        return [SMTCritic(MeetingRules(), name="z3"), FinishEarly()]

    def describe_violation(self, task: Task, candidate: Candidate, violation: Violation) -> str:
        m, d, at = task.payload, violation.detail, dict(reversed(candidate.answer or []))  # first line wins
        span = {n: f"{n} ({at[n]}:00-{at[n] + m.hours[n]}:00)" for n in m.hours if n in at}
        if violation.kind == "outside_day":
            return f"{span[d['meeting']]} is outside the working day, 9:00-17:00"
        if violation.kind == "busy":
            s, p = at[d["meeting"]], d["person"]
            hours = ", ".join(f"{h}:00" for h in m.busy[p] if s <= h < s + m.hours[d["meeting"]])
            return f"{p} is busy at {hours}, during {span[d['meeting']]}"
        if violation.kind == "double_booked":
            (a, b), who = d["meetings"], d["people"]
            return f"{span[a]} and {span[b]} overlap, and {' and '.join(who)} must attend both"
        return super().describe_violation(task, candidate, violation)

    def constraint(self, task: Task, prefix: str = "", executable: bool = False) -> LineConstraint:
        """One line per meeting, in the task's order; ``executable``: only the hours that break no rule."""
        m: Meetings = task.payload

        @functools.cache  # the samples of one call share their first lines
        def next_lines(generated: tuple[str, ...]) -> tuple[list[str], bool]:
            done = {n: h for n, h in read(prefix + "".join(g + "\n" for g in generated)) if n in m.hours}
            todo = [n for n in m.hours if n not in done]
            if not todo:
                return [], True
            with Z3_LOCK:  # z3 is not thread-safe (see llm_modulo.verifiers.smt)
                fits = [
                    h
                    for h in range(*DAY)
                    if not executable
                    or all(
                        z3.is_true(z3.simplify(c.formula))
                        for c in rules(m, {n: z3.IntVal(v) for n, v in {**done, todo[0]: h}.items()}, {})
                    )
                ]
            return [f"{todo[0]}: {h}" for h in fits], False

        lines = tuple(f"{n}: {h}" for n in m.hours for h in range(*DAY))
        return LineConstraint(lines=lines, end=END, max_lines=len(m.hours), next_lines=next_lines)

    def load(self, instance: str) -> Task:
        """ "m3-s0": 3 meetings, seed 0. A schedule is drawn first and the busy hours avoid it: always solvable."""
        if not (spec := re.fullmatch(r"m([1-8])-s(\d+)", instance)):
            raise InputError(f"no meetings instance {instance!r}; use mN-sS (N = 1..8 meetings, seed S)")
        count, rng = int(spec[1]), random.Random(instance)
        names = rng.sample(NAMES, count)
        hours = {n: rng.choice((1, 2)) if count <= 4 else 1 for n in names}  # at most 8 h: they fit back to back
        attendees = {n: tuple(sorted(rng.sample(PEOPLE, rng.choice((2, 3))))) for n in names}
        plan, slack, t = {}, DAY[1] - DAY[0] - sum(hours.values()), DAY[0]
        for n in rng.sample(names, count):
            gap = rng.randint(0, slack)
            plan[n], slack, t = t + gap, slack - gap, t + gap + hours[n]
        free = {
            p: [h for h in range(*DAY) if not any(p in attendees[n] and 0 <= h - plan[n] < hours[n] for n in names)]
            for p in PEOPLE
        }
        busy = {p: tuple(sorted(rng.sample(free[p], min(2, len(free[p]))))) for p in PEOPLE}
        return Task(id=instance, domain=self.name, payload=Meetings(hours, attendees, busy), meta={"meetings": count})

    def instances(self, set_name: str) -> list[str]:
        if set_name not in self.instance_sets:
            raise InputError(f"no meetings set {set_name!r}; known: small")
        return ["m2-s0", "m3-s0", "m3-s1", "m4-s0"]


def meetings() -> MeetingsDomain:
    """Meeting scheduling in a working day, certified by z3 (the example package of a domain of your own)."""
    return MeetingsDomain()
