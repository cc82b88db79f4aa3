"""HTML pieces: escaping and the page shell (CSS and JS inlined: a page needs no server and no network)."""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from typing import Any

# nothing is loaded from anywhere: scripts run inline only, images may be data URIs
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def esc(value: Any) -> str:
    """Text of any origin (a model's completion, a task, a store's row) made safe inside HTML and attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def pre(text: Any, cls: str = "") -> str:
    return f'<pre class="{esc(cls)}">{esc(text)}</pre>' if cls else f"<pre>{esc(text)}</pre>"


def badge(text: Any, cls: str) -> str:
    return f'<span class="badge {esc(cls)}">{esc(text)}</span>'


def status_badge(status: str) -> str:
    return badge(status, f"s-{status}")


def recheck_badge(recheck: str) -> str:
    if not recheck:
        return ""
    cls = "r-agreed" if recheck.startswith("agreed") else "r-false" if recheck.startswith("FALSE") else "r-unchecked"
    return badge(recheck, cls)


def number(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return esc(value)


def meta_table(pairs: list[tuple[str, str]]) -> str:
    """Rows of (label, HTML already escaped)."""
    body = "".join(f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in pairs if v != "")
    return f'<table class="meta">{body}</table>'


def json_block(value: Any) -> str:
    return pre(json.dumps(value, indent=2, sort_keys=True, default=str))


@cache
def _asset(name: str) -> str:
    return resources.files("llm_modulo.experiments.view").joinpath(name).read_text(encoding="utf-8")


def page(title: str, body: str, script: bool = False) -> str:
    """A whole self-contained page."""
    js = f"<script>{_asset('view.js')}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_asset('view.css')}</style></head>\n"
        f"<body>\n{body}\n{js}</body></html>\n"
    )


__all__ = ["badge", "esc", "json_block", "meta_table", "number", "page", "pre", "recheck_badge", "status_badge"]
