"""Writing a report folder (``report.md``, its figures, ``trials.csv`` / ``trials.parquet``), the
independent re-check section, and the console summary."""

from __future__ import annotations

import csv
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError
from llm_modulo.experiments.prices import load_prices, merged_prices
from llm_modulo.experiments.recheck import Recheck, recheck_trials
from llm_modulo.experiments.report.arms import ArmSummary, group_arms, summarise
from llm_modulo.experiments.report.formatting import ci, fixed, pct
from llm_modulo.experiments.report.render import render
from llm_modulo.experiments.report.store_rows import load_trials, open_store, read_meta, select_rows, sweep_names


def _export_csv(cols: list[tuple[str, str]], rows: list[dict[str, Any]], path: Path) -> Path:
    names = [n for n, _ in cols if n != "result_json"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for r in rows:
            writer.writerow(["" if r.get(n) is None else r.get(n) for n in names])
    return path


def _export_parquet(cols: list[tuple[str, str]], rows: list[dict[str, Any]], path: Path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is in the [bench] extra
        raise InputError(
            "Parquet export needs pyarrow: pip install 'llm-modulo[bench]', or pass --no-parquet"
        ) from None
    arrays, fields = [], []
    for name, declared in cols:
        if name == "result_json":
            continue
        values = [r.get(name) for r in rows]
        kind = (
            pa.int64()
            if "INT" in declared
            else pa.float64()
            if declared in ("REAL", "FLOAT", "DOUBLE")
            else pa.string()
        )
        try:
            array = pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):  # SQLite's dynamic typing let text in
            kind = pa.string()
            array = pa.array([None if v is None else str(v) for v in values], type=kind)
        arrays.append(array)
        fields.append(pa.field(name, kind))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)
    return path


@dataclass
class ReportFiles:
    out_dir: Path
    report: Path
    figures: list[Path]
    csv: Path | None
    parquet: Path | None
    arms: list[ArmSummary]
    trials: int


def default_out_dir(store: str | Path) -> Path:
    """``<store stem>-report/`` next to the store."""
    path = Path(store)
    return path.parent / f"{path.stem}-report"


def regenerate_command(
    store: str | Path,
    out_dir: str | Path,
    sweep: str | None = None,
    csv_out: bool = True,
    parquet_out: bool = True,
    recheck: bool = False,
    prices: str | Path | None = None,
) -> str:
    parts = ["llm-modulo", "report", str(store), "--out", str(out_dir)]
    if recheck:
        parts.append("--recheck")
    if prices is not None:
        parts += ["--prices", str(prices)]
    if sweep is not None:
        parts += ["--sweep", sweep]
    if not csv_out:
        parts.append("--no-csv")
    if not parquet_out:
        parts.append("--no-parquet")
    return shlex.join(parts)


def write_report(
    store: str | Path,
    out_dir: str | Path | None = None,
    sweep: str | None = None,
    *,
    fmt: str = "md",
    csv_out: bool = True,
    parquet_out: bool = True,
    recheck: bool = False,
    prices: str | Path | None = None,
) -> ReportFiles:
    """Write ``report.md``, its PNG figures and (optionally) ``trials.csv`` / ``trials.parquet``.

    With ``recheck``, every answer the store calls verified is judged again by the domain's
    independent reference check (unified-planning's validator for PDDL) and the report says
    how many agree; any false "verified" is listed by trial key. ``prices``: a TOML price table
    (:mod:`llm_modulo.experiments.prices`) for the money columns.
    """
    if fmt != "md":
        raise InputError(f"unknown report format {fmt!r}; known: md")
    out = Path(out_dir) if out_dir is not None else default_out_dir(store)
    user_prices = load_prices(prices) if prices is not None else None  # a bad table fails before any work
    conn = open_store(store)
    try:
        sweeps = sweep_names(conn)
        if sweep is not None and sweep not in sweeps:
            raise InputError(f"no sweep {sweep!r} in {store}; sweeps: {', '.join(sweeps) or '(none)'}")
        cols, rows = select_rows(conn, sweep, with_result=False)
        meta = read_meta(conn)
    finally:
        conn.close()
    if not rows:
        where = f"sweep {sweep!r} of {store}" if sweep else str(store)
        raise InputError(f"nothing to report: {where} holds no trials yet (fill it with `llm-modulo bench`)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report folder {out}: {exc.strerror}") from None
    chosen = [sweep] if sweep is not None else sorted({r["sweep"] for r in rows})
    arms = summarise(rows)
    command = regenerate_command(store, out, sweep, csv_out, parquet_out, recheck, prices)
    lines, figures = render(store, chosen, rows, meta, arms, out, command, merged_prices(meta, user_prices))
    if recheck:
        _insert_recheck(lines, store, sweep)
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    csv_path = _export_csv(cols, rows, out / "trials.csv") if csv_out else None
    parquet_path = _export_parquet(cols, rows, out / "trials.parquet") if parquet_out else None
    return ReportFiles(out, report, figures, csv_path, parquet_path, arms, len(rows))


def recheck_store(store: str | Path, sweep: str | None = None) -> Recheck:
    """Re-check every verified trial of ``store`` (one sweep's, if given) with the domain's reference check."""
    return recheck_trials(load_trials(store, sweep, with_result=True))


def _insert_recheck(lines: list[str], store: str | Path, sweep: str | None) -> None:
    """Put the independent re-check's section before the report's first section."""
    check = recheck_store(store, sweep)
    section = ["## Independent re-check of every verified answer", ""]
    if check.checked:
        section.append(
            f"{check.checked} answers the store calls verified were judged again by {check.engine}: "
            f'**{check.agreed} agree, {len(check.false_verified)} false "verified"**.'
        )
    else:
        section.append("No verified answer could be re-checked.")
    if check.false_verified:
        section += ["", 'False "verified" trials (keys): ' + ", ".join(check.false_verified)]
    if check.unchecked:
        section += [
            "",
            f"{len(check.unchecked)} verified answers had no reference check: "
            + "; ".join(sorted(set(check.unchecked.values()))[:5]),
        ]
    first = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    lines[first:first] = [*section, ""]


def print_summary(console: Any, files: ReportFiles) -> None:
    """A rich table per (domain, instance set) and the paths written."""
    from rich.table import Table

    for (domain, instance_set), group in group_arms(files.arms).items():
        table = Table(title=f"{domain} · {instance_set}", title_justify="left")
        for col, justify in (
            ("arm", "left"),
            ("proposer", "left"),
            ("budget", "left"),
            ("solved", "right"),
            ("success", "right"),
            ("95% CI", "right"),
            ("tokens/trial", "right"),
            ("errors", "right"),
        ):
            table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for a in group:
            table.add_row(
                a.name,
                a.proposer,
                a.budget_label,
                f"{a.solved}/{a.trials}",
                pct(a.rate) if a.trials else "–",
                ci(a.lo, a.hi) if a.trials else "–",
                fixed(a.mean_tokens, 0),
                str(a.errors),
            )
        console.print(table)
    written = [files.report.name, *(p.name for p in files.figures)]
    written += [p.name for p in (files.csv, files.parquet) if p is not None]
    console.print(
        f"{files.trials} trials; wrote {files.out_dir}/: {', '.join(written)}", highlight=False, soft_wrap=True
    )
