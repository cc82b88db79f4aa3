"""Sweep configs: a validated grid read from TOML or YAML, expanded into trials.

A config is a grid: instance sets x strategies x models x budgets x feedback levels x seeds,
plus sampling settings and the prompt style. A strategy entry carries the keyword options of
its class's constructor (``n``, ``constrained``, ``reuse_prefix``, ``history``, ``k``, ...)
and may override the grid's ``feedback``, ``budgets``, ``models``, ``seeds`` and ``sampling``::

    name = "tiny"
    models = ["random"]
    feedback = ["first"]
    seeds = [0]
    [[instance_sets]]
    domain = "blocksworld"
    set = "blocksworld/generated_basic_3"
    count = 10
    [[budgets]]
    samples = 16
    rounds = "none"            # TOML has no null: "none" means unlimited
    [[strategies]]
    name = "best-of-n"
    n = 8
    constrained = "well-formed"

Every bad field fails with one line, ``file:field: message``, raised as
:class:`~llm_modulo.errors.InputError`. Each trial's key is the sha256 of the canonical JSON of
its full config, sweep name and label excluded, so any change of setting gives a new key and
two sweeps share identical trials.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llm_modulo.errors import InputError, LLMModuloError
from llm_modulo.types import Budget, FeedbackLevel

log = logging.getLogger(__name__)

STYLES = ("nl", "pddl")
# Constructor parameters the runner sets from the grid; a strategy entry may not pass them as options.
RESERVED_OPTIONS = {
    "model": "the grid's `models`",
    "domain": "the instance set's `domain`",
    "budget": "`budgets`",
    "params": "`[sampling]` (temperature, top_p, max_tokens) and `seeds`",
    "feedback": "`feedback` (a list)",
    "seed": "`seeds`",
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_UNLIMITED = ("none", "unlimited", "inf")


class ConfigError(InputError):
    """A bad config field: prints as ``file:field: message``."""

    def __init__(self, source: str, loc: str, message: str) -> None:
        self.source, self.loc, self.message = source, loc, message
        where = f"{source}:{loc}" if loc else source
        super().__init__(f"{where}: {message}")


# -- the config models -----------------------------------------------------------------------


class BudgetSpec(Budget):
    """A :class:`~llm_modulo.types.Budget` that rejects unknown fields; ``"none"`` = unlimited."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unlimited(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: None if isinstance(v, str) and v.strip().lower() in _UNLIMITED else v for k, v in data.items()}
        return data

    def budget(self) -> Budget:
        return Budget(**self.model_dump())


class SamplingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(1.0, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(128, ge=1)


class InstanceSetSpec(BaseModel):
    """A PlanBench set (``blocksworld/generated_basic_3``) or a folder of PDDL files, with
    either ``count`` (the first N in natural order, from instance ``start``) or explicit ``ids``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    domain: str
    set_name: str = Field(alias="set", min_length=1)
    count: int | None = Field(None, ge=1)
    ids: list[str | int] | None = None
    start: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _count_or_ids(self) -> InstanceSetSpec:
        if (self.count is None) == (self.ids is None):
            raise ValueError("give exactly one of `count` (first N instances) or `ids` (a list)")
        if self.ids is not None and not self.ids:
            raise ValueError("`ids` is empty")
        return self


class StrategySpec(BaseModel):
    """One strategy entry. Fields not listed here are options for the strategy's constructor."""

    model_config = ConfigDict(extra="allow")

    name: str
    label: str | None = None
    # options of the domain factory for this strategy's trials, e.g. {one_shot = false} for
    # zero-shot prompts or {cot = true} for chain of thought (part of the trial key)
    domain_options: dict[str, Any] = Field(default_factory=dict)
    feedback: list[FeedbackLevel] | None = None
    budgets: list[BudgetSpec] | None = None
    models: list[str] | None = None
    seeds: list[int] | None = None
    # this strategy's own sampling (e.g. greedy `direct` beside sampled best-of-n); default: the sweep's
    sampling: SamplingSpec | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(sorted((self.model_extra or {}).items()))


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # default: the config file's stem
    description: str = ""
    style: Literal["nl", "pddl"] = "nl"
    instance_sets: list[InstanceSetSpec] = Field(min_length=1)
    strategies: list[StrategySpec] = Field(min_length=1)
    models: list[str] = Field(default_factory=lambda: ["default"], min_length=1)
    budgets: list[BudgetSpec] = Field(default_factory=lambda: [BudgetSpec()], min_length=1)
    feedback: list[FeedbackLevel] = Field(default_factory=lambda: [FeedbackLevel.FIRST], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    sampling: SamplingSpec = Field(default_factory=SamplingSpec)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME_RE.match(value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (it names the store file)")
        return value


# -- trials ----------------------------------------------------------------------------------


class TrialSpec(BaseModel):
    """One trial: everything a worker needs to run it, and the key that identifies it."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    # identity (in the key)
    domain: str
    instance_set: str
    instance: str
    style: str
    strategy: str
    options: dict[str, Any]
    domain_options: dict[str, Any] = Field(default_factory=dict)
    model: str
    model_digest: str | None = None  # sha256 of a scripted model's file or an adapter's weights: a setting too
    budget: Budget
    feedback: str
    seed: int
    sampling: SamplingSpec
    # bookkeeping (not in the key)
    sweep: str
    label: str
    model_resolved: str  # the spec with relative paths made absolute, for load_model
    domain_file: str
    problem_file: str

    def config(self) -> dict[str, Any]:
        """The trial's full config, the key's preimage: sweep name, label and paths excluded."""
        data = {
            "domain": self.domain,
            "instance_set": self.instance_set,
            "instance": self.instance,
            "style": self.style,
            "strategy": self.strategy,
            "options": self.options,
            "model": self.model,
            "budget": self.budget.model_dump(mode="json"),
            "feedback": self.feedback,
            "seed": self.seed,
            "sampling": self.sampling.model_dump(mode="json"),
        }
        if self.model_digest is not None:
            data["model_digest"] = self.model_digest
        if self.domain_options:  # only when set, so that keys without them stay as they were
            data["domain_options"] = dict(sorted(self.domain_options.items()))
        return data

    @property
    def key(self) -> str:
        return trial_key(self.config())

    @property
    def arm(self) -> tuple[str, str, str, str]:
        """(label, model, feedback, budget): what a report compares; instances and seeds replicate it."""
        return (self.label, self.model, self.feedback, budget_text(self.budget))


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def trial_key(config: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def budget_text(budget: Budget) -> str:
    parts = [f"{k}={v}" for k, v in budget.model_dump().items() if v is not None]
    return ",".join(parts) or "unlimited"


@dataclass
class Sweep:
    """A loaded config and its expanded trials (in run order)."""

    config: SweepConfig
    path: Path
    text: str
    format: str  # "toml" | "yaml"
    trials: list[TrialSpec]
    duplicates: int = 0  # trials dropped because an earlier entry already had the same key
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name or self.path.stem

    def arms(self) -> dict[tuple[str, str, str, str], int]:
        counts: dict[tuple[str, str, str, str], int] = {}
        for trial in self.trials:
            counts[trial.arm] = counts.get(trial.arm, 0) + 1
        return counts

    def meta(self) -> dict[str, Any]:
        return {"path": str(self.path), "text": self.text, "format": self.format}


# -- loading ---------------------------------------------------------------------------------


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and expand a sweep config; any problem is one ``file:field: message`` line."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(f"config not found: {path}")
    text = path.read_text(encoding="utf-8")
    fmt = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "toml"
    data = _parse(text, fmt, source)
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(source, exc) from None
    return expand(config, path, text=text, fmt=fmt)


def _parse(text: str, fmt: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if fmt == "yaml" else tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: TOML syntax error: {exc}") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise InputError(f"{source}: YAML syntax error: {first}") from None
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a table/mapping at the top level")
    return data


def _loc_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _from_validation(source: str, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p in ("function-after", "function-before"))]
    # union members show up in the loc (e.g. "str", "int"); they only confuse a user
    loc = [p for p in loc if p not in ("str", "int", "float", "bool", "list[str]", "list[int]")]
    kind = first["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = first["msg"].removeprefix("Value error, ")
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(source, _loc_text(loc), message)


# -- semantic checks and expansion -----------------------------------------------------------


def expand(config: SweepConfig, path: Path, text: str = "", fmt: str = "toml") -> Sweep:
    """Check names and files against the registries and the disk, then expand the grid."""
    source = str(path)
    base = path.resolve().parent
    name = config.name or path.stem
    if not _NAME_RE.match(name):
        raise ConfigError(source, "name", "use letters, digits, '.', '_' and '-' only (it names the store file)")

    from llm_modulo.registry import STRATEGIES, domain_names

    known_domains = domain_names()
    sets: list[list[tuple[str, str, str]]] = []
    for i, iset in enumerate(config.instance_sets):
        if iset.domain not in known_domains:
            raise ConfigError(
                source, f"instance_sets[{i}].domain", f"unknown domain {iset.domain!r}; known: {', '.join(known_domains)}"
            )
        named = _named_instances(iset, source, f"instance_sets[{i}]")
        sets.append(named if named is not None else _resolve_instances(iset, base, source, f"instance_sets[{i}]"))

    models: dict[str, tuple[str, str | None]] = {}

    def check_models(specs: Iterable[str], where: str) -> None:
        for j, spec in enumerate(specs):
            if spec not in models:
                models[spec] = _check_model(spec, base, source, f"{where}[{j}]")

    check_models(config.models, "models")
    for i, st in enumerate(config.strategies):
        where = f"strategies[{i}]"
        if st.name not in STRATEGIES:
            raise ConfigError(source, f"{where}.name", f"unknown strategy {st.name!r}; known: {', '.join(sorted(STRATEGIES))}")
        params = strategy_parameters(st.name)  # None: the strategy's module does not import yet
        _check_options(st, params, source, where)
        for iset in config.instance_sets:
            _check_domain_options(iset.domain, st.domain_options, source, f"{where}.domain_options")
        if st.models is not None:
            if not st.models:
                raise ConfigError(source, f"{where}.models", "empty list")
            check_models(st.models, f"{where}.models")
        for attr in ("feedback", "budgets", "seeds"):
            if getattr(st, attr) is not None and not getattr(st, attr):
                raise ConfigError(source, f"{where}.{attr}", "empty list")
        default = params["constrained"].default if params and "constrained" in params else None
        constrained = st.options.get("constrained", default)
        if "random" in (st.models or config.models) and constrained in (False, "none"):
            raise ConfigError(
                source,
                f"{where}.constrained",
                "the random proposer draws from the answer grammar: set constrained to "
                "'well-formed' or 'executable' for this strategy, or drop 'random' from its models",
            )

    labels = _labels(config.strategies)
    trials: list[tuple[tuple[int, ...], TrialSpec]] = []
    for s_idx, instances in enumerate(sets):
        iset = config.instance_sets[s_idx]
        for pos, (instance, domain_file, problem_file) in enumerate(instances):
            for st_idx, st in enumerate(config.strategies):
                arms = _product(
                    st.models or config.models,
                    [b.budget() for b in (st.budgets or config.budgets)],
                    [f.value for f in (st.feedback or config.feedback)],
                    st.seeds or config.seeds,
                )
                for a_idx, (model, budget, feedback, seed) in enumerate(arms):
                    resolved, digest = models[model]
                    spec = TrialSpec(
                        domain=iset.domain,
                        instance_set=iset.set_name,
                        instance=instance,
                        style=config.style,
                        strategy=st.name,
                        options=st.options,
                        domain_options=st.domain_options,
                        model=model,
                        model_digest=digest,
                        budget=budget,
                        feedback=feedback,
                        seed=seed,
                        sampling=st.sampling or config.sampling,
                        sweep=name,
                        label=labels[st_idx],
                        model_resolved=resolved,
                        domain_file=domain_file,
                        problem_file=problem_file,
                    )
                    # interleave: instance position first, then instance set, then arm
                    trials.append(((pos, s_idx, st_idx, a_idx), spec))
    trials.sort(key=lambda item: item[0])
    seen: dict[str, TrialSpec] = {}
    duplicates = 0
    ordered: list[TrialSpec] = []
    for _, spec in trials:
        key = spec.key
        if key in seen:
            duplicates += 1
            continue
        seen[key] = spec
        ordered.append(spec)
    warnings = []
    if duplicates:
        warnings.append(
            f"{duplicates} trial(s) repeat an earlier strategy entry exactly (same key); each is run once, "
            "under the first entry's label"
        )
        log.warning("%s: %s", source, warnings[-1])
    return Sweep(config=config, path=path, text=text, format=fmt, trials=ordered, duplicates=duplicates, warnings=warnings)


def _product(models: list[str], budgets: list[Budget], feedback: list[str], seeds: list[int]) -> list[tuple[str, Budget, str, int]]:
    return [(m, b, f, s) for m in models for b in budgets for f in feedback for s in seeds]


def _labels(strategies: list[StrategySpec]) -> list[str]:
    """Explicit labels, else the strategy name plus the settings that differ among its entries."""
    settings = []
    for st in strategies:
        d = dict(st.options)
        for attr in ("feedback", "budgets", "models", "seeds"):
            value = getattr(st, attr)
            if value is not None:
                d[attr] = [budget_text(v) if isinstance(v, Budget) else getattr(v, "value", v) for v in value]
        settings.append(d)
    labels = []
    for i, st in enumerate(strategies):
        if st.label:
            labels.append(st.label)
            continue
        group = [settings[j] for j, other in enumerate(strategies) if other.name == st.name]
        if len(group) == 1:
            labels.append(st.name)
            continue
        keys = sorted({k for g in group for k in g})
        differ = [k for k in keys if len({canonical_json(g[k]) if k in g else "\0" for g in group}) > 1]
        parts = [f"{k}={_fmt(settings[i][k])}" for k in differ if k in settings[i]]
        labels.append(" ".join([st.name, *parts]))
    return labels


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "/".join(_fmt(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _natural(path: Path) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.stem))


def _named_instances(iset: InstanceSetSpec, source: str, where: str) -> list[tuple[str, str, str]] | None:
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
                source, f"{where}.count", f"asks for {iset.count} instances; {iset.set_name!r} has {len(pool)} (from {iset.start})"
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


def _resolve_instances(iset: InstanceSetSpec, base: Path, source: str, where: str) -> list[tuple[str, str, str]]:
    """(instance name, domain file, problem file) for each selected instance, in natural order."""
    from llm_modulo.domains.planning.instances import planbench_root

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
    domain_file = _domain_file(folder, root if planbench else None)
    if domain_file is None:
        raise ConfigError(source, f"{where}.set", f"no domain file (domain.pddl or *domain*.pddl) in or above {folder}")

    if iset.count is not None:
        if iset.count > len(files):
            raise ConfigError(
                source, f"{where}.count", f"asks for {iset.count} instances; {name!r} has {len(files)} (from instance {iset.start})"
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
    return [(f"{name.rstrip('/')}/{p.stem}", str(domain_file), str(p.resolve())) for p in chosen]


def _domain_file(folder: Path, stop: Path | None) -> Path | None:
    for current in [folder, *folder.parents]:
        exact = current / "domain.pddl"
        if exact.is_file():
            return exact.resolve()
        found = sorted(p for p in current.glob("*domain*.pddl") if p.is_file())
        if found:
            return found[0].resolve()
        if stop is not None and current.resolve() == stop.resolve():
            break
        if stop is None and current == folder.parent:  # a plain folder: itself or its parent only
            break
    return None


def _check_model(spec: str, base: Path, source: str, where: str) -> tuple[str, str | None]:
    """(spec for load_model with relative paths made absolute, digest of a scripted file)."""
    from llm_modulo.models import load_model

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
    if digest is None and not spec.startswith(("openai:", "scripted:")) and spec not in ("default", "random"):
        digest = _adapter_digest(resolved)
    return resolved, digest


def _adapter_digest(spec: str) -> str | None:
    """sha256 of a trained adapter's weights: retraining into the same folder is a new setting."""
    try:
        from llm_modulo.training.lora import adapter_digest, resolve_adapter
    except ImportError:
        return None
    adapter = resolve_adapter(spec)
    return adapter_digest(adapter) if adapter is not None else None


# -- strategy options ------------------------------------------------------------------------


def strategy_parameters(name: str) -> dict[str, inspect.Parameter] | None:
    """Keyword parameters of a strategy's constructor (its own and, through ``**kwargs``, its
    bases'), or None when the strategy's module does not import (yet)."""
    from llm_modulo.registry import get_strategy

    try:
        cls = get_strategy(name)
    except (ImportError, AttributeError, SyntaxError) as exc:
        log.warning("strategy %r does not import (%s); its options are not checked", name, exc)
        return None
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        sig = inspect.signature(init)
        for p in list(sig.parameters.values())[1:]:
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                params.setdefault(p.name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            break
    return params


_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "None": (type(None),),
}


def _type_ok(value: Any, annotation: Any) -> bool:
    """Checks a value against a simple annotation (``int``, ``bool | str``, ``float | None``);
    anything fancier is accepted here and left to the constructor."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    if not text:
        return True
    parts = [p.strip() for p in text.split("|")]
    if not all(p in _SIMPLE_TYPES for p in parts):
        return True
    if isinstance(value, bool) and "bool" not in parts:
        return False
    return any(isinstance(value, _SIMPLE_TYPES[p]) for p in parts)


def _check_domain_options(domain: str, options: dict[str, Any], source: str, where: str) -> None:
    """Unknown domain-factory options fail at load time, naming the known ones."""
    if not options:
        return
    if "prompt_format" in options:
        from llm_modulo.training.chat import NO_COT, PROMPT_FORMATS, CompactPrompts

        fmt = options["prompt_format"]
        if fmt not in PROMPT_FORMATS:
            raise ConfigError(source, f"{where}.prompt_format", f"expected 'compact' or 'full', got {fmt!r}")
        if fmt == "compact":
            from llm_modulo.registry import get_domain

            if options.get("cot"):  # the factory's option, which CompactPrompts checks on the built domain
                raise ConfigError(source, f"{where}.prompt_format", NO_COT)
            try:
                CompactPrompts(get_domain(domain))
            except LLMModuloError as exc:
                raise ConfigError(source, f"{where}.prompt_format", exc.format_message()) from None
        options = {k: v for k, v in options.items() if k != "prompt_format"}
    from llm_modulo.registry import domain_factory

    try:
        params = inspect.signature(domain_factory(domain)).parameters
    except (LLMModuloError, TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params) - {"style"})
    if unknown:
        known = ", ".join(sorted(set(params) - {"style"})) or "(none)"
        raise ConfigError(source, where, f"unknown option(s) {', '.join(unknown)} for domain {domain!r}; known: {known}")


def _check_options(st: StrategySpec, params: dict[str, inspect.Parameter] | None, source: str, where: str) -> None:
    options = st.options
    for name in options:
        if name in RESERVED_OPTIONS:
            raise ConfigError(source, f"{where}.{name}", f"set by the grid: use {RESERVED_OPTIONS[name]}")
    if params is None:
        return
    allowed = sorted(p for p in params if p not in RESERVED_OPTIONS)
    for name, value in options.items():
        if name not in params:
            raise ConfigError(
                source, f"{where}.{name}", f"unknown option for strategy {st.name!r}; known: {', '.join(allowed)}"
            )
        annotation = params[name].annotation
        if annotation is not inspect.Parameter.empty and not _type_ok(value, annotation):
            raise ConfigError(source, f"{where}.{name}", f"expected {annotation}, got {value!r}")
    # a dry construction catches bad values the constructor itself rejects (n < 1, unknown modes)
    from llm_modulo.protocols import SamplingParams
    from llm_modulo.registry import get_strategy

    try:
        get_strategy(st.name)(None, None, budget=Budget(), params=SamplingParams(), seed=0, **options)
    except (ValueError, InputError) as exc:
        text = exc.format_message() if isinstance(exc, InputError) else str(exc)
        raise ConfigError(source, where, text) from None
    except Exception as exc:  # noqa: BLE001 - a constructor may need a real model/domain; not the config's fault
        log.debug("dry construction of %r skipped: %s", st.name, exc)


__all__ = [
    "BudgetSpec",
    "ConfigError",
    "InstanceSetSpec",
    "SamplingSpec",
    "StrategySpec",
    "Sweep",
    "SweepConfig",
    "TrialSpec",
    "budget_text",
    "canonical_json",
    "expand",
    "load_sweep",
    "strategy_parameters",
    "trial_key",
]
