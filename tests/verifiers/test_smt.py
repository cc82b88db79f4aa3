"""The generic z3 critic on a toy encoding: graph colouring of small graphs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import z3

from llm_modulo.errors import CriticError
from llm_modulo.types import Candidate, Task, VerdictStatus
from llm_modulo.verifiers.smt import Constraint, SMTCritic, SMTEncoding


@dataclass(frozen=True)
class Graph:
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    colours: int


class ColouringEncoding:
    """answer: {node: colour}."""

    name = "toy-colouring"

    def candidate_constraints(self, task: Task, answer: Any) -> list[Constraint]:
        g: Graph = task.payload
        out = [
            Constraint(
                name=f"node {n} coloured",
                formula=z3.BoolVal(n in answer and 0 <= answer[n] < g.colours),
                kind="uncoloured",
                message=f"{n} has no colour",
                detail={"node": n},
            )
            for n in g.nodes
        ]
        for i, (a, b) in enumerate(g.edges, start=1):
            out.append(
                Constraint(
                    name=f"edge {a}-{b}",
                    formula=z3.IntVal(answer.get(a, -1)) != z3.IntVal(answer.get(b, -2)),
                    kind="conflict",
                    message=f"{a} and {b} share a colour",
                    detail={"edge": [a, b], "step": i},
                )
            )
        return out

    def _vars(self, g: Graph) -> dict[str, z3.ArithRef]:
        return {n: z3.Int(f"c_{n}") for n in g.nodes}

    def problem(self, task: Task) -> list[z3.BoolRef] | None:
        g: Graph = task.payload
        c = self._vars(g)
        return [z3.And(0 <= c[n], c[n] < g.colours) for n in g.nodes] + [c[a] != c[b] for a, b in g.edges]

    def decode(self, task: Task, model: z3.ModelRef) -> Any:
        c = self._vars(task.payload)
        return {n: model.eval(v, model_completion=True).as_long() for n, v in c.items()}

    def no_solution_message(self, task: Task) -> str:
        return f"no colouring with {task.payload.colours} colours exists"


TRIANGLE = ("a", "b", "c"), (("a", "b"), ("b", "c"), ("a", "c"))


def task(colours: int) -> Task:
    return Task(id=f"triangle-{colours}", domain="toy", payload=Graph(*TRIANGLE, colours))


@pytest.fixture
def critic() -> SMTCritic:
    return SMTCritic(ColouringEncoding())


def test_encoding_satisfies_protocol():
    encoding: SMTEncoding = ColouringEncoding()
    assert encoding.name == "toy-colouring"


def test_valid_candidate(critic):
    v = critic.check(task(3), Candidate(text="", answer={"a": 0, "b": 1, "c": 2}))
    assert v.status is VerdictStatus.VALID and v.valid
    assert v.score == 1.0 and v.violations == []
    assert v.engine.startswith("z3 ") and v.critic == "z3" and v.hard
    assert v.info["constraints"] == 6 and v.info["violated"] == []


def test_invalid_candidate_lists_each_violated_constraint(critic):
    v = critic.check(task(3), Candidate(text="", answer={"a": 0, "b": 0, "c": 0}))
    assert v.status is VerdictStatus.INVALID
    assert [x.detail["constraint"] for x in v.violations] == ["edge a-b", "edge b-c", "edge a-c"]
    assert v.info["violated"] == ["edge a-b", "edge b-c", "edge a-c"]
    assert [x.kind for x in v.violations] == ["conflict"] * 3
    assert [x.step for x in v.violations] == [1, 2, 3]
    assert v.violations[0].message == "a and b share a colour"
    assert v.violations[0].detail["edge"] == ["a", "b"]
    assert v.score == pytest.approx(3 / 6)


def test_missing_node_is_its_own_kind(critic):
    v = critic.check(task(3), Candidate(text="", answer={"a": 0, "b": 1}))
    kinds = {x.kind for x in v.violations}
    assert v.status is VerdictStatus.INVALID and kinds == {"uncoloured"}  # c's -2 sentinel conflicts with nothing
    assert v.violations[0].message == "c has no colour"


def test_non_ground_constraint_needs_the_solver():
    x = z3.Int("x")

    class Enc(ColouringEncoding):
        def candidate_constraints(self, task, answer):
            return [
                Constraint("square nonneg", z3.ForAll([x], x * x >= 0), "k", "never"),
                Constraint("x positive", x > 0, "sign", "x may be nonpositive"),  # not valid for all x
            ]

    v = SMTCritic(Enc()).check(task(3), Candidate(text="", answer={}))
    assert v.status is VerdictStatus.INVALID
    assert v.info["violated"] == ["x positive"] and v.score == 0.5


def test_solver_unknown_is_never_valid():
    x, y, z = z3.Ints("x y z")
    fermat3 = z3.Or(x <= 0, y <= 0, z <= 0, x * x * x + y * y * y != z * z * z)  # true, but beyond z3

    class Enc(ColouringEncoding):
        def candidate_constraints(self, task, answer):
            return [Constraint("fermat n=3", fermat3, "k", "m")]

    v = SMTCritic(Enc(), timeout_ms=50).check(task(3), Candidate(text="", answer={}))
    assert v.status is VerdictStatus.UNKNOWN and not v.valid
    assert v.info["undecided"] == ["fermat n=3"] and v.score < 1


def test_no_constraints_is_unknown():
    class Enc(ColouringEncoding):
        def candidate_constraints(self, task, answer):
            return []

    v = SMTCritic(Enc()).check(task(3), Candidate(text="", answer={}))
    assert v.status is VerdictStatus.UNKNOWN


def test_unparseable_candidate_is_invalid_without_encoding(critic):
    v = critic.check(task(3), Candidate(text="junk", answer=None, parse_errors=["no colours given"]))
    assert v.status is VerdictStatus.INVALID and v.violations[0].kind == "parse_error"


def test_broken_encoding_raises_critic_error():
    class Enc(ColouringEncoding):
        def candidate_constraints(self, task, answer):
            raise KeyError("bug")

    with pytest.raises(CriticError):
        SMTCritic(Enc()).check(task(3), Candidate(text="", answer={}))


def test_refute_proves_no_solution(critic):
    proof = critic.refute(task(2))
    assert proof is not None and proof.status is VerdictStatus.INVALID and proof.hard
    assert [v.kind for v in proof.violations] == ["no_solution"]
    assert proof.violations[0].message == "no colouring with 2 colours exists"
    assert proof.engine.startswith("z3 ") and proof.critic == "z3"


def test_refute_is_none_when_solvable_or_undecidable(critic):
    assert critic.refute(task(3)) is None

    class Enc(ColouringEncoding):
        def problem(self, task):
            return None

    assert SMTCritic(Enc()).refute(task(2)) is None
    assert SMTCritic(Enc()).reference(task(3)) is None


def test_reference_is_a_valid_answer(critic):
    answer = critic.reference(task(3))
    assert sorted(answer.values()) == [0, 1, 2]
    assert critic.check(task(3), Candidate(text="", answer=answer)).valid
    assert critic.reference(task(2)) is None


def test_options():
    c = SMTCritic(ColouringEncoding(), name="smt", hard=False)
    v = c.check(task(3), Candidate(text="", answer={"a": 0, "b": 1, "c": 2}))
    assert v.critic == "smt" and not v.hard


def test_the_critic_is_safe_from_many_threads_at_once():
    """``bench --batch`` runs trials in threads. z3's Python API shares one context, which is not
    thread-safe: unguarded, concurrent checks fail with "context mismatch" or "invalid dec_ref"."""
    from concurrent.futures import ThreadPoolExecutor

    from llm_modulo.domains.game24 import Game24Domain

    domain = Game24Domain()
    task = domain.make_task([4, 9, 10, 13])
    critic = domain.critics(task)[0]
    texts = ["(10 - 4) * (13 - 9) = 24", "(13 - 9) * (10 - 4) = 24", "4 * 9 - 13 + 10 = 24", "13 + 10 + 9 - 4 = 24"]
    candidates = [domain.parse(task, "Answer: " + t) for t in texts]
    serial = [critic.check(task, c).status for c in candidates]
    assert serial.count(VerdictStatus.VALID) == 2

    def work(i: int) -> tuple[VerdictStatus, ...]:
        out = [critic.check(task, c).status for c in candidates for _ in range(5)]
        out += [critic.refute(task) is None, critic.reference(task) is not None]
        return tuple(out)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(32)))
    expected = tuple(s for s in serial for _ in range(5)) + (True, True)
    assert all(r == expected for r in results)
