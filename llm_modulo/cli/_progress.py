"""``solve``'s live progress line: rounds, calls, samples, tokens and search expansions as a run goes.

A terminal only: off with ``--quiet``, with ``--json`` and when stderr is not a terminal (a log or a
pipe gets no control characters). The line is fed by :func:`llm_modulo.budget.observing`, which
every strategy's budget check calls, and redrawn at most ten times a second.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from llm_modulo.budget import observing
from llm_modulo.types import Usage


def progress_text(usage: Usage, seconds: float) -> str:
    """One line: what the run has used so far."""
    parts = [f"round {usage.rounds}"] if usage.rounds else []
    parts.append(f"{usage.llm_calls} call{'s' if usage.llm_calls != 1 else ''}")
    if usage.samples:
        parts.append(f"{usage.samples} samples")
    if usage.generated_tokens:
        parts.append(f"{usage.generated_tokens:,} tokens")
    if usage.nodes:
        parts.append(f"{usage.nodes:,} expansions")
    parts.append(f"{seconds:.1f} s")
    return " · ".join(parts)


def wants_progress(quiet: bool, as_json: bool) -> bool:
    return not quiet and not as_json and sys.stderr.isatty()


@contextmanager
def live_progress(enabled: bool) -> Iterator[None]:
    """Show :func:`progress_text` on stderr while the block runs (nothing when not ``enabled``);
    the line is removed when the run ends."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.live import Live

    last = 0.0
    with Live("", console=Console(stderr=True), transient=True, refresh_per_second=8) as live:

        def update(usage: Usage, seconds: float) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= 0.1:
                last = now
                live.update(progress_text(usage, seconds))

        with observing(update):
            yield
