"""What a sweep names, found on disk and in the registries: instance sets and model specs.

Each problem is a :class:`~llm_modulo.experiments.schema.ConfigError` naming the config field.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from llm_modulo.errors import InputError, LLMModuloError
from llm_modulo.experiments.schema import ConfigError, InstanceSetSpec


def _natural(path: Path) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.stem))


def named_instances(iset: InstanceSetSpec, source: str, where: str) -> list[tuple[str, str, str]] | None:
    """(instance, "", "") for a domain whose instances are named by the domain itself (Game of 24,
    graph colouring, code tasks); None for PDDL planning domains. ``count`` takes the first N
    from ``start`` (an instance number where names are numbers, else a 1-based position)."""
    from llm_modulo.registry import domain_instances, get_domain, is_planning

    domain = get_domain(iset.domain)
    if is_planning(domain) or not hasattr(domain, "instances"):
        return None
    try:
        names = [str(n) for n in domain_instances(iset.domain, iset.set_name)]
    except InputError as exc:
        raise ConfigError(source, f"{where}.set", exc.format_message()) from None
    if iset.count is not None:
        if all(n.isdigit() for n in names):
            pool = [n for n in names if int(n) >= iset.start]
        else:
            pool = names[max(iset.start, 1) - 1 :]
        if iset.count > len(pool):
            raise ConfigError(
                source,
                f"{where}.count",
                f"asks for {iset.count} instances; {iset.set_name!r} has {len(pool)} (from {iset.start})",
            )
        chosen = pool[: iset.count]
    else:
        chosen = []
        for k, raw in enumerate(iset.ids or []):
            name = str(raw)
            try:
                domain.load(name)
            except InputError as exc:
                raise ConfigError(source, f"{where}.ids[{k}]", exc.format_message()) from None
            if name in chosen:
                raise ConfigError(source, f"{where}.ids[{k}]", f"instance {name!r} is listed twice")
            chosen.append(name)
    return [(name, "", "") for name in chosen]


def resolve_instances(iset: InstanceSetSpec, base: Path, source: str, where: str) -> list[tuple[str, str, str]]:
    """(instance name, domain file, problem file) for each selected instance, in natural order."""
    from llm_modulo.domains.planning.instances import domain_file_for, planbench_root

    name = iset.set_name
    folder: Path | None = None
    planbench = False
    try:
        root = planbench_root()
        if not Path(name).is_absolute() and (root / name.removeprefix("planbench/")).is_dir():
            folder, planbench = root / name.removeprefix("planbench/"), True
    except InputError:
        root = None
    if folder is None:
        for candidate in (Path(name).expanduser(), base / name):
            if candidate.is_dir():
                folder = candidate.resolve()
                break
    if folder is None:
        hint = "" if root is not None else " (and PlanBench data was not found: set $LLM_MODULO_BENCHMARKS)"
        raise ConfigError(source, f"{where}.set", f"no PlanBench set or PDDL folder named {name!r}{hint}")

    if planbench:
        files = sorted(folder.glob("instance-*.pddl"), key=_natural)
        if iset.count is not None:
            files = [p for p in files if int(p.stem.split("-")[-1]) >= iset.start]
    else:
        files = sorted((p for p in folder.glob("*.pddl") if "domain" not in p.name.lower()), key=_natural)
    if not files:
        raise ConfigError(source, f"{where}.set", f"no problem files in {folder}")

    if iset.count is not None:
        if iset.count > len(files):
            raise ConfigError(
                source,
                f"{where}.count",
                f"asks for {iset.count} instances; {name!r} has {len(files)} (from instance {iset.start})",
            )
        chosen = files[: iset.count]
    else:
        by_stem = {p.stem: p for p in files}
        chosen = []
        for k, raw in enumerate(iset.ids or []):
            stem = Path(str(raw)).name.removesuffix(".pddl")
            if planbench and stem.isdigit():
                stem = f"instance-{stem}"
            if stem not in by_stem:
                raise ConfigError(source, f"{where}.ids[{k}]", f"no instance {stem!r} in {name!r}")
            if by_stem[stem] in chosen:
                raise ConfigError(source, f"{where}.ids[{k}]", f"instance {stem!r} is listed twice")
            chosen.append(by_stem[stem])
    ask = "name it domain.pddl, or after the problem (p01-domain.pddl for p01.pddl)"
    try:  # each problem's own domain file, by the rules solve --instance follows
        return [(f"{name.rstrip('/')}/{p.stem}", str(domain_file_for(p, ask)), str(p.resolve())) for p in chosen]
    except InputError as exc:
        raise ConfigError(source, f"{where}.set", exc.format_message()) from None


def check_model(spec: str, base: Path, source: str, where: str, device: str = "cpu") -> tuple[str, str | None]:
    """(spec for load_model with relative paths made absolute, digest: of a scripted file, of an adapter's
    weights, or the default model's engine)."""
    from llm_modulo.models import DEFAULT_ALIASES, default_identity, load_model

    resolved, digest = spec, None
    if spec.startswith("scripted:"):
        raw = Path(spec.removeprefix("scripted:")).expanduser()
        target = raw if raw.is_absolute() else base / raw
        if not target.is_file() and not raw.is_absolute() and raw.is_file():
            target = raw
        if not target.is_file():
            raise ConfigError(source, where, f"scripted model file not found: {raw}")
        resolved = f"scripted:{target.resolve()}"
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
    elif spec not in ("default", "random") and not spec.startswith("openai:"):
        local = Path(spec).expanduser()
        if not local.is_absolute() and (base / local).is_dir():
            resolved = str((base / local).resolve())
    try:
        load_model(resolved)  # constructing is cheap: no weights load, no network
    except LLMModuloError as exc:
        raise ConfigError(source, where, exc.format_message()) from None
    if spec in DEFAULT_ALIASES:  # the engine the default runs on is a setting: its results are its own
        digest = default_identity(device)
    elif digest is None and not spec.startswith(("openai:", "scripted:")) and spec != "random":
        digest = _adapter_digest(resolved)
    return resolved, digest


def _adapter_digest(spec: str) -> str | None:
    """sha256 of a trained adapter's weights: retraining into the same folder is a new setting; on
    onnxruntime (``<adapter>@ort[:precision]``) with the export's recipe, as the default model's engine."""
    from llm_modulo.models._ort_adapter import split_spec
    from llm_modulo.models._ort_export import engine_identity
    from llm_modulo.models.adapters import adapter_digest, resolve_adapter

    on_ort = split_spec(spec)
    adapter = resolve_adapter(on_ort[0] if on_ort else spec)
    digest = adapter_digest(adapter) if adapter is not None else None
    if digest is None or on_ort is None:
        return digest
    return f"{digest}+{engine_identity(on_ort[1])}"


__all__ = ["check_model", "named_instances", "resolve_instances"]
