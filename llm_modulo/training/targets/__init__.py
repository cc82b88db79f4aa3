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
marker), ``source`` ("imitation" | "expert"), ``domain``, ``problem_hash`` (:mod:`..canon`),
``task_id``, ``prompt_format`` and figures such as ``plan_len``.

The targets themselves come from the domains (their ``imitation_target``, ``shortened_target``
and ``repair_target`` capabilities, in :mod:`llm_modulo.domains.planning.training` and
:mod:`llm_modulo.domains.game24.training`). One module per idea: :mod:`.records` (a record,
certification, JSONL files), :mod:`.plans` (planning problem files to records; plan search and
shortening are re-exported), :mod:`.game24` (Game-of-24 puzzles to records), :mod:`.imitation`
(any domain's tasks to imitation records, through its capabilities), :mod:`.trials` (a sweep
store's trials read back as tasks), :mod:`.expert` (expert records); every name is importable
from here.
"""

from __future__ import annotations

from llm_modulo.strategies.base import judge

from .expert import EXPERT_SELECT, ExpertSelect, expert_records
from .game24 import game24_solution, imitation_game24
from .imitation import NEEDS as IMITATION_NEEDS
from .imitation import imitation_records, search_proposer
from .plans import PLAN_METHODS, Step, astar_plan, blocksworld_plan, imitation_blocksworld, shorten
from .records import certify, read_jsonl, record, write_jsonl
from .trials import trial_tasks

__all__ = [
    "EXPERT_SELECT",
    "IMITATION_NEEDS",
    "PLAN_METHODS",
    "ExpertSelect",
    "Step",
    "astar_plan",
    "blocksworld_plan",
    "certify",
    "judge",
    "expert_records",
    "game24_solution",
    "imitation_blocksworld",
    "imitation_game24",
    "imitation_records",
    "read_jsonl",
    "record",
    "search_proposer",
    "shorten",
    "trial_tasks",
    "write_jsonl",
]
