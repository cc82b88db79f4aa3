"""What counts as a success, and confidence intervals for success rates (the Wilson score interval).

The Wilson interval stays inside [0, 1] and keeps a sensible width at 0/n and n/n, where the
normal approximation (Wald) collapses to a zero-width interval. Pure Python: no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

Z95 = 1.959963984540054  # two-sided 95%: the 0.975 quantile of the standard normal


def succeeded(row: Mapping[str, Any]) -> bool:
    """A certified outcome: the answer is verified, or a hard critic proved that no answer exists.

    The one definition of "solved" for a stored trial row: the report's rates and bench's
    end-of-run summary both count with it, so the two agree.
    """
    return bool(row["verified"]) or row.get("status") == "no_solution"


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n`` Bernoulli trials.

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = successes / n``.
    ``n == 0`` gives ``(0.0, 1.0)``: nothing is known.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # exact at the ends (0/n has lower bound 0, n/n upper bound 1); rounding can leave 1e-17
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def normal_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The normal-approximation (Wald) interval ``p ± z·sqrt(p(1-p)/n)``, for comparison only."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    half = z * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two intervals share at least one point (a conservative "no clear difference")."""
    return a[0] <= b[1] and b[0] <= a[1]


__all__ = ["Z95", "normal_interval", "overlap", "succeeded", "wilson_interval"]
