"""The list page of an arm or a sweep: one light table row per trial (the details are on the trial's own
page, loaded only when followed), filtered in the browser by status, arm and text."""

from __future__ import annotations

from collections import Counter

from llm_modulo.experiments.view.html import esc, number, page, recheck_badge, status_badge
from llm_modulo.experiments.view.source import Trial

STATUS_ORDER = ("verified", "no_solution", "exhausted", "failed", "error")


def index_page(trials: list[Trial], title: str, folder: str) -> str:
    counts = Counter(t.status for t in trials)
    statuses = [s for s in STATUS_ORDER if s in counts] + sorted(set(counts) - set(STATUS_ORDER))
    arms = sorted({t.arm for t in trials})
    boxes = "".join(
        f'<label><input type="checkbox" class="status-filter" value="{esc(s)}" checked> '
        f"{status_badge(s)} {counts[s]}</label>"
        for s in statuses
    )
    arm_select = ""
    if len(arms) > 1:
        options = "".join(f'<option value="{esc(a)}">{esc(a)}</option>' for a in arms)
        arm_select = f'<label>arm <select id="arm-filter"><option value="">all arms</option>{options}</select></label>'
    verified = counts.get("verified", 0)
    rechecked = Counter(t.recheck.split(" ")[0].split(":")[0] for t in trials if t.recheck)
    recheck_line = ", ".join(f"{n} {what}" for what, n in sorted(rechecked.items()))
    many = len(arms) > 1  # one arm: named in the title, not on every row
    rows = "".join(_row(i, t, folder, many) for i, t in enumerate(trials, 1))
    body = (
        f"<h1>{esc(title)}</h1>"
        f"{'' if many else '<p>' + esc(arms[0]) + '</p>'}"
        f"<p>{len(trials)} trials in {len(arms)} arm{'s' if len(arms) != 1 else ''}; {verified} verified"
        f"{' (re-check: ' + esc(recheck_line) + ')' if recheck_line else ''}. "
        f'Showing <b id="shown">{len(trials)}</b>.</p>'
        f'<div class="filters">{boxes}{arm_select}'
        '<label>find <input id="text-filter" type="search" placeholder="instance or key"></label></div>'
        '<table id="trials"><thead><tr><th>#</th><th>instance</th><th>seed</th>'
        f"{'<th>arm</th>' if many else ''}<th>status</th><th>re-check</th><th>rounds</th><th>samples</th><th>calls</th><th>nodes</th><th>gen. tokens</th>"
        f"<th>seconds</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return page(title, body, script=True)


def _row(i: int, t: Trial, folder: str, arm: bool) -> str:
    r = t.row
    text = f"{r.get('instance') or ''} {t.key}".lower()
    cells = "".join(
        f'<td class="n">{number(r.get(k))}</td>'
        for k in ("rounds", "samples", "llm_calls", "nodes", "generated_tokens", "seconds")
    )
    arm_attr = f' data-arm="{esc(t.arm)}"' if arm else ""
    arm_cell = f"<td>{esc(t.arm)}</td>" if arm else ""
    return (
        f'<tr data-status="{esc(t.status)}"{arm_attr} data-text="{esc(text)}">'
        f'<td class="n">{i}</td><td><a href="{esc(folder)}/{esc(t.page)}">{esc(r.get("instance") or t.key)}</a></td>'
        f'<td class="n">{number(r.get("seed"))}</td>{arm_cell}<td>{status_badge(t.status)}</td>'
        f"<td>{recheck_badge(t.recheck)}</td>{cells}</tr>"
    )


__all__ = ["index_page"]
