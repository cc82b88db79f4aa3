"""Training targets: certified (prompt, completion) pairs, written as JSONL.

Imitation (:func:`imitation_blocksworld`, :func:`imitation_game24`): a plan per generated
problem, from breadth-first search (optimal, where the state space is small) or else from the
project's own step-level search (:class:`~llm_modulo.strategies.search.Search` with the uniform
random proposer and the relaxed-plan heuristic), shortened by removing steps while the plan
stays valid; an exact solution per Game-of-24 puzzle (the domain's solver, moves tried in a
seeded random order).

Expert iteration (:func:`expert_records`): the certified samples of a language-model proposer
(never the random control) in a sweep store. By default test instances are dropped (a store
of test-set runs gives nothing): expert iteration is meant for stores of runs on generated
training problems; ``allow_test=True`` keeps them.

Every record is re-certified by the domain's hard critics on the rebuilt task before it is
written. A record: ``prompt`` (chat messages), ``prefill`` (the answer's opening, part of the
prompt), ``completion`` (the text the model must write after the prefill, ending with the end
marker), ``source`` ("imitation" | "expert"), ``domain``, ``problem_hash`` (:mod:`.canon`),
``task_id``, ``prompt_format`` and figures such as ``plan_len``.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, get_args

from llm_modulo.errors import InputError
from llm_modulo.strategies.base import judge
from llm_modulo.types import Budget, Task, certified

from . import canon
from .chat import training_domain

log = logging.getLogger(__name__)

Step = tuple[str, tuple[str, ...]]
PLAN_METHODS = ("auto", "bfs", "astar", "search")
ExpertSelect = Literal["all", "shortest", "shortened"]  # which certified samples become expert data
EXPERT_SELECT: tuple[str, ...] = get_args(ExpertSelect)


# -- certification ---------------------------------------------------------------------------------


def certify(domain: Any, task: Task, completion: str, prefill: str | None = None) -> bool:
    """True when the hard critics accept the answer ``prefill + completion`` for ``task``
    (``prefill``: the opening of the prompt it answers; by default the bare prompt's)."""
    opening = domain.prompt(task).prefill if prefill is None else prefill
    return certified(judge(domain, task, opening + completion)[1])


def record(domain: Any, task: Task, completion: str, source: str, key: str, prompt_format: str, **extra: Any) -> dict[str, Any]:
    """A JSONL record for ``completion`` on ``task`` (the prompt as ``domain`` writes it)."""
    prompt = domain.prompt(task)
    return {
        "prompt": [dict(m) for m in prompt.messages],
        "prefill": prompt.prefill,
        "completion": completion,
        "source": source,
        "domain": domain.name,
        "problem_hash": key,
        "task_id": task.id,
        "prompt_format": prompt_format,
        **extra,
    }


# -- Blocksworld plans ------------------------------------------------------------------------------


def _valid(problem: Any, steps: Sequence[Step]) -> bool:
    state = problem.initial_state()
    for step in steps:
        if not problem.is_applicable(state, step):
            return False
        state = problem.apply(state, step)
    return bool(problem.goal_reached(state))


def shorten(problem: Any, steps: Sequence[Step]) -> list[Step]:
    """Remove single steps and pairs of steps while the plan stays valid (greedy, to a fixpoint)."""
    plan = list(steps)
    changed = True
    while changed:
        changed = False
        n = len(plan)
        for i in range(n):
            for j in [i, *range(i + 1, n)]:
                trial = [s for k, s in enumerate(plan) if k not in (i, j)]
                if _valid(problem, trial):
                    plan, changed = trial, True
                    break
            if changed:
                break
    return plan


def astar_plan(problem: Any, weight: float = 1.0, max_states: int = 50_000) -> list[Step] | None:
    """A plan by weighted A* (f = g + weight * h_FF) over the grounded states; None past ``max_states``.

    h_FF is not admissible, so the plan is short but not proven optimal.
    """
    import heapq
    import itertools

    from llm_modulo.domains.planning.heuristic import RelaxedPlanHeuristic

    h = RelaxedPlanHeuristic(problem)
    start = problem.initial_state()
    parent: dict[Any, tuple[Any, Any] | None] = {start: None}
    cost = {start: 0}
    tie = itertools.count()
    frontier = [(weight * h(start), next(tie), start)]
    while frontier:
        _, _, state = heapq.heappop(frontier)
        if problem.goal_reached(state):
            steps = []
            link = parent[state]
            while link is not None:
                state, action = link
                steps.append((str(action.name), tuple(str(a) for a in action.args)))
                link = parent[state]
            return steps[::-1]
        g = cost[state] + 1
        for action in problem.applicable(state):
            nxt = problem.apply(state, action)
            if nxt in cost and cost[nxt] <= g:
                continue
            estimate = h(nxt)
            if estimate == float("inf"):
                continue
            cost[nxt], parent[nxt] = g, (state, action)
            if len(cost) > max_states:
                return None
            heapq.heappush(frontier, (g + weight * estimate, next(tie), nxt))
    return None


def blocksworld_plan(
    domain: Any,
    task: Task,
    *,
    method: str = "auto",
    max_states: int = 20_000,
    max_nodes: int = 2_000,
    seed: int = 0,
    shorten_plan: bool = True,
) -> tuple[list[Step], str] | None:
    """(plan, how) for a planning task: ``"bfs"`` (optimal), ``"astar"`` (:func:`astar_plan`, short),
    ``"search"`` (the project's search with the random proposer and the relaxed-plan heuristic,
    then :func:`shorten`), or ``"auto"``: BFS within ``max_states`` states, else A* within
    ``10 * max_states``, else search."""
    from llm_modulo.verifiers.planning.shortest import shortest_plan

    if method not in PLAN_METHODS:
        raise InputError(f"unknown plan method {method!r}; known: {', '.join(PLAN_METHODS)}")
    problem = task.payload.problem
    if method in ("auto", "bfs"):
        found = shortest_plan(problem, max_states=max_states)
        if found.plan is not None:
            return [(a.name, tuple(a.args)) for a in found.plan], "bfs"
        if method == "bfs" or found.complete:
            return None
    if method in ("auto", "astar"):
        steps = astar_plan(problem, max_states=10 * max_states)
        if steps is not None:
            return (shorten(problem, steps) if shorten_plan else steps), "astar"
        if method == "astar":
            return None
    from llm_modulo.models.random_proposer import RandomProposer
    from llm_modulo.strategies.search import Search

    search = Search(
        RandomProposer(seed),
        domain,
        Budget(rounds=None, samples=None, nodes=max_nodes),
        heuristic="relaxed-plan",
        trace_nodes=False,
        seed=seed,
    )
    result = search.run(task)
    if not result.verified:
        return None
    steps = [(str(name), tuple(str(a) for a in args)) for name, args in result.answer]
    return (shorten(problem, steps) if shorten_plan else steps), "search"


def imitation_blocksworld(
    folder: str | Path,
    *,
    prompt_format: str = "compact",
    method: str = "auto",
    max_states: int = 20_000,
    max_nodes: int = 2_000,
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified imitation record per problem file in ``folder`` (see :func:`.generate.write_blocksworld`).

    A problem whose key is a test instance's raises :class:`InputError` unless ``allow_test``.
    """
    from llm_modulo.domains.planning.domain import PLAN_END

    folder = Path(folder)
    domain = training_domain("blocksworld", prompt_format)
    excluded = frozenset() if allow_test else canon.blocksworld_test_keys()
    files = sorted((p for p in folder.glob("*.pddl") if "domain" not in p.name.lower()), key=_natural)
    if not files:
        raise InputError(f"no problem files in {folder}")
    for path in files:
        task = domain.load_files(folder / "domain.pddl", path, task_id=path.stem)
        key = canon.problem_key(task.payload.problem)
        if key in excluded:
            raise InputError(f"{path} is a test instance (up to renaming the blocks); refusing to train on it")
        found = blocksworld_plan(domain, task, method=method, max_states=max_states, max_nodes=max_nodes, seed=seed)
        if found is None:
            log.warning("%s: no plan found; skipped", path.name)
            continue
        steps, how = found
        completion = domain.plan_text(steps, task) + PLAN_END
        if not certify(domain, task, completion):
            log.warning("%s: the plan was not certified; skipped", path.name)
            continue
        yield record(domain, task, completion, "imitation", key, prompt_format,
                     plan_len=len(steps), method=how, optimal=how == "bfs", problem_file=str(path))


def _natural(path: Path) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.stem))


# -- Game of 24 -------------------------------------------------------------------------------------


def game24_solution(numbers: Sequence[int], rng: random.Random | None = None) -> str | None:
    """Step lines, the answer line and ``[END]`` for the puzzle, in the answer grammar; None if unsolvable.

    Depth first over the moves in a random order (``rng``; the solver's order without one),
    entering only moves after which 24 can still be made.
    """
    from llm_modulo.domains.game24.domain import answer_line
    from llm_modulo.domains.game24.parse import END
    from llm_modulo.domains.game24.puzzle import moves, solvable, state_of

    start = [Fraction(x) for x in numbers]
    state = state_of(start)
    if not solvable(state):
        return None
    lines, raw = [], []
    while len(state) > 1:
        options = moves(state)
        if rng is not None:
            rng.shuffle(options)
        move = next(m for m in options if solvable(m.left))
        lines.append(move.line)
        raw.append((move.a, move.op, move.b, move.result))
        state = move.left
    lines.append(answer_line(start, raw))
    return "\n".join(lines) + "\n" + END


def imitation_game24(
    puzzles: Iterable[Sequence[int]],
    *,
    prompt_format: str = "compact",
    seed: int = 0,
    allow_test: bool = False,
) -> Iterator[dict[str, Any]]:
    """One certified record per puzzle (a test puzzle raises :class:`InputError` unless ``allow_test``)."""
    domain = training_domain("game24", prompt_format)
    excluded = frozenset() if allow_test else canon.game24_test_keys()
    rng = random.Random(seed)
    for numbers in puzzles:
        key = canon.game24_key(numbers)
        if key in excluded:
            raise InputError(f"{' '.join(map(str, numbers))} is a Game-of-24 test puzzle; refusing to train on it")
        task = domain.make_task(numbers)
        completion = game24_solution(numbers, rng)
        if completion is None or not certify(domain, task, completion):
            log.warning("%s: no certified solution; skipped", task.id)
            continue
        yield record(domain, task, completion, "imitation", key, prompt_format, steps=len(numbers) - 1)


# -- expert iteration --------------------------------------------------------------------------------


def expert_records(
    store: str | Path,
    *,
    prompt_format: str = "compact",
    allow_test: bool = False,
    include_random: bool = False,
    roots: Sequence[str | Path] = (),
    sweep: str | None = None,
    max_per_problem: int | None = None,
    keys: Iterable[str] | None = None,
    select: str = "all",
) -> Iterator[dict[str, Any]]:
    """Certified samples of a language-model proposer in a sweep store, as training records.

    Each trial's trace is read; every certified sample's answer (its candidate text, the
    prefill of its call included) becomes a completion for the problem's training prompt
    (``prompt_format``; the prompt the sweep used, with its examples and critiques, is not
    kept: the model learns to answer the bare problem). Samples are re-certified on the rebuilt
    task and deduplicated per problem. By default trials of the random control
    (``include_random``) and test instances (``allow_test``; checked by canonical key, so a
    renamed copy counts) are dropped. Planning problems are found as PlanBench names or as
    ``<instance>.pddl`` under the current folder, the sweep config's folder or ``roots``.
    ``keys``: only these trials (a store shared by several sweeps), else ``sweep``'s, else all.

    ``select`` (:data:`EXPERT_SELECT`): ``"all"`` keeps every distinct certified answer;
    ``"shortest"`` only a problem's answers of the fewest steps; ``"shortened"`` (planning) first
    removes from each plan the steps it does not need (:func:`shorten`, greedy action elimination
    under the validator), re-certifies it, then keeps the shortest.
    """
    if select not in EXPERT_SELECT:
        raise InputError(f"unknown expert selection {select!r}; known: {', '.join(EXPERT_SELECT)}")
    if select == "all":
        yield from _expert_all(store, prompt_format=prompt_format, allow_test=allow_test, include_random=include_random,
                               roots=roots, sweep=sweep, max_per_problem=max_per_problem, keys=keys)  # fmt: skip
        return
    by_problem: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    counts = {"shortened": 0, "steps_removed": 0, "uncertified": 0}
    for rec, domain, task in _expert_all(store, prompt_format=prompt_format, allow_test=allow_test,
                                         include_random=include_random, roots=roots, sweep=sweep, keys=keys,
                                         with_task=True):  # fmt: skip
        steps = _answer_steps(domain, task, rec["completion"])
        if select == "shortened":
            if steps is None:
                raise InputError(f"{domain.name}: answers have no plan steps to shorten; use select 'shortest'")
            short = shorten(task.payload.problem, steps)
            if len(short) < len(steps):
                from llm_modulo.domains.planning.domain import PLAN_END

                completion = domain.plan_text(short, task) + PLAN_END
                if certify(domain, task, completion):  # the critics' verdict, not shorten's simulation
                    counts["shortened"] += 1
                    counts["steps_removed"] += len(steps) - len(short)
                    rec = {**rec, "completion": completion, "shortened_from": len(steps)}
                    steps = short
                else:
                    log.warning("%s: a shortened plan was not certified; the plan is kept whole", task.id)
                    counts["uncertified"] += 1
        size = len(steps) if steps is not None else len(rec["completion"])
        by_problem.setdefault(rec["problem_hash"], []).append((size, rec))
    for found in by_problem.values():
        fewest = min(size for size, _ in found)
        seen: set[str] = set()
        for size, rec in found:
            if size == fewest and rec["completion"] not in seen:
                seen.add(rec["completion"])
                if max_per_problem is not None and len(seen) > max_per_problem:
                    break
                yield rec
    log.info("expert selection %s: %s", select, counts)


def _answer_steps(domain: Any, task: Task, completion: str) -> list[Step] | None:
    """The plan steps of an answer (None where the domain's answers are not plans)."""
    if getattr(task.payload, "problem", None) is None:
        return None
    answer = domain.parse(task, domain.prompt(task).prefill + completion).answer
    return [(str(name), tuple(str(a) for a in args)) for name, args in answer]


def _expert_all(
    store: str | Path,
    *,
    prompt_format: str,
    allow_test: bool,
    include_random: bool,
    roots: Sequence[str | Path],
    sweep: str | None,
    keys: Iterable[str] | None,
    max_per_problem: int | None = None,
    with_task: bool = False,
) -> Iterator[Any]:
    """Every distinct certified answer as a record (with its domain and task when ``with_task``)."""
    counts = {"uncertified": 0, "kept": 0}
    seen: dict[str, set[str]] = {}
    for domain, task, key, result, row in trial_tasks(store, prompt_format=prompt_format, allow_test=allow_test,
                                                      include_random=include_random, roots=roots, sweep=sweep,
                                                      keys=keys, counts=counts):  # fmt: skip
        base = domain.prompt(task).prefill
        end = domain.constraint(task).end
        for attempt in result.trace:
            for sample in attempt.samples:
                if not sample.certified:
                    continue
                completion = _completion(sample.candidate.text, base, end)
                kept = seen.setdefault(key, set())
                if completion in kept or (max_per_problem is not None and len(kept) >= max_per_problem):
                    continue
                if not certify(domain, task, completion):
                    counts["uncertified"] += 1
                    continue
                kept.add(completion)
                counts["kept"] += 1
                rec = record(domain, task, completion, "expert", key, prompt_format,
                             strategy=row["strategy"], model=row["model"], trial=row["key"],
                             instance=row["instance"])  # fmt: skip
                yield (rec, domain, task) if with_task else rec
    log.info("expert records: %s", counts)


def trial_tasks(
    store: str | Path,
    *,
    prompt_format: str = "compact",
    allow_test: bool = False,
    include_random: bool = False,
    roots: Sequence[str | Path] = (),
    sweep: str | None = None,
    keys: Iterable[str] | None = None,
    counts: dict[str, int] | None = None,
) -> Iterator[tuple[Any, Task, str, Any, dict[str, Any]]]:
    """(training domain, rebuilt task, canonical key, result, row) for each finished trial of a
    language-model proposer in a sweep store, test instances left out (see :func:`expert_records`).

    ``counts`` (updated in place) tallies the rows read and why any were left out.
    """
    from llm_modulo.experiments.store import TrialStore
    from llm_modulo.types import Result

    counts = {} if counts is None else counts
    for name in ("rows", "random", "test", "unknown"):
        counts.setdefault(name, 0)
    domains: dict[str, Any] = {}
    excluded: dict[str, frozenset[str]] = {}
    with TrialStore(store, readonly=True) as db:
        config_dirs = _config_dirs(db)
        for row in db.rows(sweep=sweep, keys=keys):  # keys, when given, select alone
            counts["rows"] += 1
            if row["proposer"] == "random" and not include_random:
                counts["random"] += 1
                continue
            if not row.get("result_json"):
                continue
            name = row["domain"]
            if name not in domains:
                domains[name] = training_domain(name, prompt_format)
                excluded[name] = frozenset() if allow_test else canon.excluded_keys(name)
            domain = domains[name]
            task = _rebuild(domain, row, [*roots, *config_dirs.get(row["sweep"], [])])
            if task is None:
                counts["unknown"] += 1
                continue
            key = _key(domain, task)
            if key in excluded[name]:
                counts["test"] += 1
                continue
            yield domain, task, key, Result.model_validate_json(row["result_json"]), row


def _completion(text: str, prefill: str, end: str) -> str:
    """The answer after the domain's prefill, cut right after the end marker."""
    body = text[len(prefill):] if text.startswith(prefill) else text
    at = body.find(end)
    return body[: at + len(end)] if at >= 0 else body.rstrip("\n") + "\n" + end


def _key(domain: Any, task: Task) -> str:
    if getattr(task.payload, "problem", None) is not None:
        return canon.problem_key(task.payload.problem)
    return canon.game24_key(task.payload.numbers)


def _config_dirs(db: Any) -> dict[str, list[Path]]:
    """Sweep name -> the folder of its config file (relative instance sets are relative to it)."""
    out: dict[str, list[Path]] = {}
    for key in db.meta_keys("sweep/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == "config":
            path = (db.get_meta(key) or {}).get("path")
            if path:
                out.setdefault(parts[1], []).append(Path(path).expanduser().resolve().parent)
    return out


def _rebuild(domain: Any, row: dict[str, Any], roots: Sequence[str | Path]) -> Task | None:
    """The trial's task, loaded again; None (logged) when its files cannot be found."""
    from llm_modulo.registry import is_planning

    instance = row["instance"]
    try:
        inner = getattr(domain, "inner", domain)
        if not is_planning(inner):
            return domain.load(instance)  # type: ignore[no-any-return]
        for base in [Path.cwd(), *map(Path, roots)]:
            path = base / f"{instance}.pddl"
            if path.is_file():
                domain_file = _find_domain_file(path.parent)
                if domain_file is not None:
                    return domain.load_files(domain_file, path, task_id=instance)  # type: ignore[no-any-return]
        return domain.load(instance)  # type: ignore[no-any-return]
    except InputError as exc:
        log.warning("trial %s: cannot load instance %r: %s", row["key"][:12], instance, exc)
        return None


def _find_domain_file(folder: Path) -> Path | None:
    """``domain.pddl`` or ``*domain*.pddl`` in the problem's folder or its parent (as sweeps look)."""
    for current in (folder, folder.parent):
        if (current / "domain.pddl").is_file():
            return current / "domain.pddl"
        found = sorted(p for p in current.glob("*domain*.pddl") if p.is_file())
        if found:
            return found[0]
    return None


def write_jsonl(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write records one per line; returns how many. The file appears whole or not at all: an
    error while the records are made leaves an earlier file at ``path`` as it was."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    n = 0
    try:
        with part.open("w") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    return n


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


__all__ = [
    "astar_plan",
    "blocksworld_plan",
    "certify",
    "judge",
    "expert_records",
    "game24_solution",
    "imitation_blocksworld",
    "imitation_game24",
    "read_jsonl",
    "record",
    "shorten",
    "trial_tasks",
    "write_jsonl",
]
