"""solve's live progress: the budget's observer hears every strategy's loop; the line is for terminals only."""

from __future__ import annotations

from llm_modulo import Budget, RandomProposer
from llm_modulo.budget import observing
from llm_modulo.cli._progress import live_progress, progress_text, wants_progress
from llm_modulo.registry import load_planning_instance
from llm_modulo.strategies.search import Search
from llm_modulo.types import Usage


def test_an_observer_hears_a_search_expand(planbench):
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    heard: list[tuple[int, float]] = []
    with observing(lambda usage, seconds: heard.append((usage.nodes, seconds))):
        result = Search(RandomProposer(seed=0), domain, seed=0, budget=Budget(nodes=30)).run(task)
    nodes = [n for n, _ in heard]
    assert nodes == sorted(nodes) and nodes[-1] == result.usage.nodes  # every expansion, in order
    assert [s for _, s in heard] == sorted(s for _, s in heard)
    heard.clear()
    Search(RandomProposer(seed=0), domain, seed=0, budget=Budget(nodes=5)).run(task)
    assert heard == []  # outside the block nobody is told


def test_the_line_says_what_the_run_used():
    text = progress_text(Usage(rounds=3, llm_calls=3, samples=24, generated_tokens=1234, nodes=0), 5.24)
    assert text == "round 3 · 3 calls · 24 samples · 1,234 tokens · 5.2 s"
    assert "12 expansions" in progress_text(Usage(rounds=1, llm_calls=4, nodes=12), 0.5)


def test_no_line_off_a_terminal_or_with_json_or_quiet(capsys):
    assert not wants_progress(quiet=False, as_json=False)  # pytest's stderr is not a terminal
    assert not wants_progress(quiet=True, as_json=False) and not wants_progress(quiet=False, as_json=True)
    with live_progress(False):
        pass
    assert capsys.readouterr().err == ""


def test_the_live_line_is_drawn_on_a_terminal(monkeypatch, planbench):
    """With a terminal (forced), the rich live line shows the expansions and is removed at the end."""
    import io

    import rich.console

    buffer = io.StringIO()
    real = rich.console.Console
    monkeypatch.setattr(
        rich.console,
        "Console",
        lambda **kw: real(
            file=buffer, force_terminal=True, width=100, **{k: v for k, v in kw.items() if k != "stderr"}
        ),
    )
    domain, task = load_planning_instance("blocksworld/generated_basic/instance-4")
    with live_progress(True):
        Search(RandomProposer(seed=0), domain, seed=0, budget=Budget(nodes=30)).run(task)
    assert "expansions" in buffer.getvalue() or "call" in buffer.getvalue()
