"""A generic z3 SMT critic: a domain gives an :class:`SMTEncoding`, :class:`SMTCritic` checks
candidates against it, refutes unsolvable tasks and constructs reference answers.

Importing this package imports z3; ``import llm_modulo`` does not.
"""

from .critic import Z3_LOCK, Constraint, SMTCritic, SMTEncoding, engine_name

__all__ = ["Z3_LOCK", "Constraint", "SMTCritic", "SMTEncoding", "engine_name"]
