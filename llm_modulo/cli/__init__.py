"""The ``llm-modulo`` command.

    solve         solve one task: the model proposes, the domain's critics certify       (solve.py)
    validate      check a plan file against PDDL domain and problem files                (validate.py)
    domains       list the registered domains and their named instance sets              (solve.py)
    demo          the embedded model on the Sussman anomaly and PlanBench instances      (solve.py)
    bench         run a sweep config into a trial store, resumably                       (bench.py)
    report        tables, figures, CSV and Parquet from a trial store                    (bench.py)
    make-data     generated training problems with certified imitation targets           (training.py)
    expert-data   the certified samples of a store's model runs as training records      (training.py)
    repair-data   critique-and-repair turns from a store's rejected samples              (training.py)
    train         LoRA-train the embedded model on training records                      (training.py)
    improve       expert iteration: sample with critics, train, evaluate, for N rounds   (training.py)
    improve-table compare improve runs (the data-source ablation)                        (training.py)

Exit codes: 0 verified / valid / done, 1 not verified / invalid / some trials errored, 2 bad input
(one ``error: ...`` line on stderr, from :class:`~llm_modulo.cli._common.OneLineErrors`, the only
place errors are caught), 3 proved unsolvable, 130 interrupted. Each command imports what it needs
when it runs, so ``llm-modulo --help`` stays fast.
"""

from __future__ import annotations

import typer

from llm_modulo.cli import bench, solve, training, validate
from llm_modulo.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_NO_SOLUTION,
    EXIT_NOT_VERIFIED,
    OneLineErrors,
    err,
    out,
    parse_budget,
)

app = typer.Typer(
    name="llm-modulo",
    cls=OneLineErrors,
    help="An LLM proposes, sound critics certify: generate-test-critique planning with a local model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name, _command in (
    ("solve", solve.solve),
    ("validate", validate.validate),
    ("domains", solve.domains),
    ("demo", solve.demo),
    ("bench", bench.bench),
    ("report", bench.report),
    ("make-data", training.make_data),
    ("expert-data", training.expert_data),
    ("repair-data", training.repair_data),
    ("train", training.train),
    ("improve", training.improve),
    ("improve-table", training.improve_table),
):
    app.command(_name)(_command)


def main() -> None:
    app()


__all__ = ["EXIT_BAD_INPUT", "EXIT_NOT_VERIFIED", "EXIT_NO_SOLUTION", "app", "err", "main", "out", "parse_budget"]
