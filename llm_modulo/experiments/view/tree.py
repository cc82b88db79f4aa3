"""The search tree of a ``search`` trace, as nested lists: each expansion, its children with the model's
score and the heuristic's estimate, the steps the simulator pruned, and the path to the goal.

An expansion's Attempt names its parent expansion (an index into the trace) and the step that led
to it (:meth:`llm_modulo.strategies.search.Search._preferences`); the goal test is the one Attempt
with ``goal_test`` in its info.
"""

from __future__ import annotations

from typing import Any

from llm_modulo.experiments.view.html import esc, meta_table, number


def is_search(trace: list[dict[str, Any]]) -> bool:
    return any(isinstance(a.get("info"), dict) and "parent" in a["info"] for a in trace)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def render_search(result: dict[str, Any]) -> str:
    trace: list[dict[str, Any]] = result.get("trace") or []
    info_of: list[dict[str, Any]] = [a["info"] if isinstance(a.get("info"), dict) else {} for a in trace]
    if (result.get("info") or {}).get("heuristic") == "none":  # its estimates are all zero: noise on the page
        info_of = [{**i, "estimates": {}} for i in info_of]
    nodes = [i for i, info in enumerate(info_of) if "parent" in info]
    kids: dict[int, dict[str, int]] = {}  # expansion -> step -> the child's expansion
    lines: dict[int, list[str]] = {}
    for i in nodes:
        parent = info_of[i].get("parent", -1)
        parent = parent if isinstance(parent, int) and parent in lines and parent < i else -1
        step = info_of[i].get("step")
        lines[i] = ([*lines[parent], str(step)] if parent >= 0 else []) if step is not None else []
        if parent >= 0:
            kids.setdefault(parent, {})[str(step)] = i
    final = _final_lines(result)
    on_path = {i for i in nodes if lines[i] == final[: len(lines[i])]}
    roots = [i for i in nodes if not lines[i]]
    deepest = max(on_path, key=lambda i: len(lines[i]), default=None)
    # the step the goal test took from the deepest node on the path: a leaf, never expanded
    goal = None
    if deepest is not None and len(final) > len(lines[deepest]) and result.get("status") == "verified":
        goal = (deepest, final[len(lines[deepest])])
    info = result.get("info") or {}
    verified = result.get("status") == "verified"
    summary = meta_table(
        [
            ("expansions", number(len(nodes))),
            ("heuristic", esc(info.get("heuristic", ""))),
            ("model ranked", number(info.get("model_asked"))),
            ("control order (model not asked)", number(info.get("model_skipped"))),
            ("model seconds", number(info.get("model_seconds"))),
        ]
    )
    parts = [
        "<h2>Search</h2>",
        summary,
        f"<h3>{'Path to the goal' if verified else 'Best path (not certified)'}</h3>",
        _path(final, lines, info_of, nodes),
        "<h3>Search tree</h3>",
        '<p class="muted">Each node is an expansion; its children are listed by the model\'s score '
        '(<span class="score">lp</span>: log-preference) with the heuristic\'s estimate '
        '(<span class="est">h</span>); struck-through steps were pruned by the simulator (a state already '
        "reached); <i>open</i> children were never expanded. The path is in bold.</p>",
    ]
    for root in roots:
        parts.append(f'<ul class="tree">{_node(root, info_of, kids, on_path, goal)}</ul>')
    if not roots:
        parts.append('<p class="muted">no expansions recorded (run with trace_nodes on)</p>')
    return "\n".join(parts)


def _final_lines(result: dict[str, Any]) -> list[str]:
    """The steps of the answer the search ended on (the goal test's, or the judged best)."""
    chosen = result.get("chosen")
    trace = result.get("trace") or []
    if isinstance(chosen, list) and len(chosen) == 2:
        try:
            return _lines(trace[chosen[0]]["samples"][chosen[1]]["completion"])
        except (IndexError, KeyError, TypeError):
            pass
    return _lines(str(result.get("answer_text") or ""))


def _path(final: list[str], lines: dict[int, list[str]], info_of: list[dict[str, Any]], nodes: list[int]) -> str:
    at = {tuple(lines[i]): i for i in nodes}
    items = []
    for k, step in enumerate(final):
        node = at.get(tuple(final[:k]))
        info = info_of[node] if node is not None else {}
        score = (info.get("children") or {}).get(step)
        est = (info.get("estimates") or {}).get(step)
        items.append(f'<li><span class="step">{esc(step)}</span>{_figures(score, est)}</li>')
    return f'<ol class="path">{"".join(items)}</ol>' if items else '<p class="muted">no steps</p>'


def _figures(score: Any, est: Any) -> str:
    out = f' <span class="score">lp {number(score)}</span>' if isinstance(score, (int, float)) else ""
    return out + (f' <span class="est">h {number(est)}</span>' if isinstance(est, (int, float)) else "")


def _node(
    i: int,
    info_of: list[dict[str, Any]],
    kids: dict[int, dict[str, int]],
    on_path: set[int],
    goal: tuple[int, str] | None,
) -> str:
    """One expansion and, below it, its children (iteratively deep: a plan may be long)."""
    out: list[str] = []
    stack: list[tuple[int, str, Any, Any] | str] = [(i, "", None, None)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):  # a closing tag
            out.append(item)
            continue
        node, step, score, est = item
        info = info_of[node]
        label = esc(info.get("step")) if info.get("step") is not None else "<i>start</i>"
        children: dict[str, Any] = info.get("children") or {}
        ranked = "model ranked" if info.get("model") else "forced" if len(children) <= 1 else "control order"
        path = " onpath" if node in on_path else ""
        out.append(
            f'<li class="node{path}"><details class="node{path}"{" open" if path else ""}>'
            f'<summary><span class="step">{label}</span>{_figures(score, est)} '
            f'<span class="asked">#{node} · depth {esc(info.get("depth", ""))} · {ranked}</span></summary><ul>'
        )
        stack.append("</ul></details></li>")
        estimates = info.get("estimates") or {}
        expanded = kids.get(node, {})
        leaves: list[str] = []
        below: list[tuple[int, str, Any, Any]] = []
        for child, lp in sorted(children.items(), key=lambda kv: -_num(kv[1])):
            if child in expanded:
                below.append((expanded[child], child, lp, estimates.get(child)))
            elif goal == (node, child):
                leaves.insert(
                    0,
                    f'<li class="onpath goal"><span class="step">{esc(child)}</span>{_figures(lp, estimates.get(child))} '
                    '<span class="goal">goal: certified by the critics</span></li>',
                )
            else:
                leaves.append(
                    f'<li><span class="step open">{esc(child)}</span>{_figures(lp, estimates.get(child))} '
                    '<span class="open">open</span></li>'
                )
        below += [(j, s, None, None) for s, j in expanded.items() if s not in children]
        leaves += [
            f'<li class="pruned"><span class="step">{esc(s)}</span> pruned: state already reached</li>'
            for s in info.get("pruned") or []
        ]
        stack.append("".join(leaves))
        stack.extend(reversed(below))  # popped in score order
    return "".join(out)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else float("-inf")


__all__ = ["is_search", "render_search"]
