"""Game of 24: combine four numbers with + - * / into 24 (Tree of Thoughts' benchmark).

Answers are checked by the generic z3 critic (:mod:`llm_modulo.verifiers.smt`) through
:class:`~llm_modulo.domains.game24.encoding.Game24Encoding`, which also proves unsolvable
puzzles unsolvable; ``reference_check`` re-checks with exact Fractions. Importing this package
does not import z3.
"""

from .domain import Game24Domain, game24
from .parse import parse_answer
from .puzzle import Puzzle, solvable

__all__ = ["Game24Domain", "Puzzle", "game24", "parse_answer", "solvable"]
