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
    rl            reinforce a planner adapter with the verifier's reward (GRPO)          (rl.py)
    import-planbench  PlanBench's per-instance results into a store, judged by our critics (planbench.py)
    export-planbench  an arm of a store in PlanBench's results format                    (planbench.py)
    view          static HTML pages of a trial, an arm or a sweep                        (view.py)

Exit codes: 0 verified / valid / done, 1 not verified / invalid / some trials errored, 2 bad input
(one ``error: ...`` line on stderr, from :class:`~llm_modulo.cli._common.OneLineErrors`, the only
place errors are caught), 3 proved unsolvable, 130 interrupted.

Start-up is kept short: importing this package imports neither typer nor any command. The typer app
(:mod:`._app`) imports a command's module only when that command runs or its help is shown, and
:func:`main` runs a plain ``validate`` command line without typer at all (:func:`._validate.fast_main`:
no typer, rich or pydantic), so a PlanBench-style pipeline that validates each plan in its own process
pays about a tenth of a second per plan.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from llm_modulo.cli._plain import EXIT_BAD_INPUT, EXIT_NO_SOLUTION, EXIT_NOT_VERIFIED

if TYPE_CHECKING:
    from llm_modulo.cli._app import app
    from llm_modulo.cli._common import err, out, parse_budget

# command -> "module:function", in the order ``--help`` lists them
COMMANDS = {
    "solve": "llm_modulo.cli.solve:solve",
    "validate": "llm_modulo.cli.validate:validate",
    "domains": "llm_modulo.cli.solve:domains",
    "demo": "llm_modulo.cli.solve:demo",
    "bench": "llm_modulo.cli.bench:bench",
    "report": "llm_modulo.cli.bench:report",
    "make-data": "llm_modulo.cli.training:make_data",
    "expert-data": "llm_modulo.cli.training:expert_data",
    "repair-data": "llm_modulo.cli.training:repair_data",
    "train": "llm_modulo.cli.training:train",
    "improve": "llm_modulo.cli.training:improve",
    "improve-table": "llm_modulo.cli.training:improve_table",
    "rl": "llm_modulo.cli.rl:rl",
    "import-planbench": "llm_modulo.cli.planbench:import_planbench",
    "export-planbench": "llm_modulo.cli.planbench:export_planbench",
    "view": "llm_modulo.cli.view:view",
}

_LAZY = {"app": "llm_modulo.cli._app", "err": "llm_modulo.cli._common", "out": "llm_modulo.cli._common"}
_LAZY["parse_budget"] = "llm_modulo.cli._common"


def main() -> None:
    if sys.argv[1:2] == ["validate"]:
        from llm_modulo.cli._validate import fast_main

        code = fast_main(sys.argv[2:])
        if code is not None:
            sys.exit(code)
    from llm_modulo.cli._app import app

    app()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_NOT_VERIFIED",
    "EXIT_NO_SOLUTION",
    "app",
    "err",
    "main",
    "out",
    "parse_budget",
]
