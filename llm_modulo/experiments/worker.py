"""What a worker runs: one :class:`~llm_modulo.experiments.trials.TrialSpec`, from its model
and task to its store row.

Workers keep one model per (process, spec), so a local model loads once per worker; the scripted
and random models are built fresh for each trial, so their results never depend on which worker
ran what before. An ordinary exception inside a trial becomes a row with status ``error``; errors
that doom every trial (a bad model spec, a model that will not load, an unreachable server, a
task that cannot be read) abort the sweep instead (:class:`FatalTrialError`). Where trials run
(this process, worker processes, Ray, batched threads) is :mod:`llm_modulo.experiments.executors`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from llm_modulo.errors import InputError, LLMModuloError, ModelLoadError, ServerUnreachableError
from llm_modulo.experiments.trials import TrialSpec, canonical_json

log = logging.getLogger(__name__)

# Errors that doom the whole sweep, wherever they happen: the model or server is unusable.
FATAL_ALWAYS: tuple[type[LLMModuloError], ...] = (ModelLoadError, ServerUnreachableError)
# Errors that doom the sweep when building a trial (model spec, task files): bad input.
FATAL_AT_SETUP: tuple[type[LLMModuloError], ...] = (InputError, *FATAL_ALWAYS)

# per process: (resolved spec, cache path, batched, device) -> model
_MODELS: dict[tuple[str, str | None, bool, str], Any] = {}
_THREADS: int | None = None
_MODELS_LOCK = threading.Lock()  # one load per model when trials run in threads
_SETUP_LOCK = threading.Lock()  # task loading (unified-planning's parser) is not thread-safe
_BATCHING = threading.Event()  # set while a BatchedExecutor runs in this process
_BATCH_LOCK = threading.RLock()  # one batch at a time across this process's models (they share the cores)


class FatalTrialError(LLMModuloError):
    """A trial failed in a way every other trial would too; the sweep stops."""


# -- one trial -------------------------------------------------------------------------------


def fresh_per_trial(spec: str) -> bool:
    """Models rebuilt for every trial: cheap ones whose state must not leak between trials."""
    return spec == "random" or spec.startswith("scripted:")


def _describe(model: Any) -> str:
    inner = model
    while type(inner).__name__ in ("CachingModel", "BatchingModel"):
        inner = inner.model
    description = getattr(inner, "description", None)
    if isinstance(description, str):
        return description
    kind: type[object] = type(inner)
    if kind.__repr__ is not object.__repr__:
        return repr(inner)
    return kind.__name__


def _model_key(spec: TrialSpec, cache_path: str | None) -> tuple[str, str | None, bool, str]:
    return (spec.model_resolved, cache_path, _BATCHING.is_set(), spec.device)


def model_for(spec: TrialSpec, cache_path: str | None = None) -> Any:
    """The trial's language model: cached per (process, spec), or fresh for scripted/random."""
    from llm_modulo.models import load_model

    if fresh_per_trial(spec.model):
        return load_model(spec.model_resolved, seed=spec.seed)
    key = _model_key(spec, cache_path)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = load_model(spec.model_resolved, device=spec.device)
            if hasattr(model, "load"):
                model.load()
            _set_threads()
            if key[2]:  # concurrent trials: their calls meet in one batch (one batch at a time)
                from llm_modulo.models.batching import BatchingModel

                model = BatchingModel(model, lock=_BATCH_LOCK)
            if cache_path is not None:
                from llm_modulo.experiments.cache import CachingModel

                # the digest too: a retrained adapter or another engine for the default never reads stale completions
                cached_as = spec.model if spec.model_digest is None else f"{spec.model}#{spec.model_digest}"
                model = CachingModel(model, cached_as, cache_path)
            _MODELS[key] = model
    return model


def batcher_of(model: Any) -> Any:
    """The :class:`~llm_modulo.models.batching.BatchingModel` inside ``model`` (cache wrapper
    included), or None."""
    from llm_modulo.models.batching import BatchingModel

    while model is not None and not isinstance(model, BatchingModel):
        model = model.__dict__.get("model") if hasattr(model, "__dict__") else None
    return model


def trial_task(spec: TrialSpec) -> tuple[Any, Any]:
    """(domain, task) from the PDDL paths the driver resolved, else by the domain's instance name.

    The domain option ``prompt_format`` (``"compact"``: the problem statement alone; ``"full"``:
    the domain's zero-shot prompt) runs the domain with the prompts of
    :mod:`llm_modulo.models.prompts`, the ones a trained adapter was trained on.
    """
    from llm_modulo.registry import load_planning_task
    from llm_modulo.registry import load_task as load_named

    options = dict(spec.domain_options)
    prompt_format = options.pop("prompt_format", None)
    if prompt_format is not None:  # both training formats are zero-shot (checked when the sweep loads)
        options.setdefault("one_shot", False)
    if (
        spec.domain_file
        and spec.problem_file
        and os.path.isfile(spec.domain_file)
        and os.path.isfile(spec.problem_file)
    ):
        domain, task = load_planning_task(
            spec.domain_file, spec.problem_file, spec.domain, spec.style, spec.instance, **options
        )
    else:
        domain, task = load_named(spec.instance, spec.domain, spec.style, **options)
    if prompt_format == "compact":  # the prompts a model trained by ``llm-modulo train`` was trained on
        from llm_modulo.models.prompts import CompactPrompts

        domain = CompactPrompts(domain)
    return domain, task


def build_strategy(spec: TrialSpec, model: Any, domain: Any) -> Any:
    from llm_modulo.protocols import SamplingParams
    from llm_modulo.registry import get_strategy
    from llm_modulo.strategies.options import DEFAULT_MAX_TOKENS

    params = SamplingParams(
        temperature=spec.sampling.temperature,
        top_p=spec.sampling.top_p,
        max_tokens=spec.sampling.max_tokens or DEFAULT_MAX_TOKENS,
        seed=spec.seed,
    )
    cls = get_strategy(spec.strategy)
    options = getattr(cls, "Options", None)
    # the grid's feedback axis goes only to strategies that have the option
    takes_feedback = options is None or "feedback" in options.model_fields
    extra: dict[str, Any] = {"feedback": spec.feedback} if takes_feedback else {}
    if options is not None and "max_tokens" in options.model_fields:  # None: "auto", the task's own cap
        extra["max_tokens"] = spec.sampling.max_tokens
    return cls(model, domain, budget=spec.budget, params=params, seed=spec.seed, **extra, **spec.options)


def _one_line(exc: BaseException) -> str:
    text = exc.format_message() if isinstance(exc, LLMModuloError) else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else ""
    line = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return line[:500]


def run_trial(spec: TrialSpec, cache_path: str | None = None) -> dict[str, Any]:
    """Run one trial and return its store row. Raises :data:`FATAL_AT_SETUP` errors while building
    the trial and :data:`FATAL_ALWAYS` errors while running it; any other exception is a row with
    status ``error`` and a one-line message."""
    try:
        model = model_for(spec, cache_path)
        with _SETUP_LOCK:
            domain, task = trial_task(spec)
        strategy = build_strategy(spec, model, domain)
    except FATAL_AT_SETUP:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded in the row, the sweep goes on
        log.debug("trial %s failed while building", spec.instance, exc_info=True)
        return make_row(spec, None, 0.0, error=_one_line(exc))
    started = time.perf_counter()  # the trial's time is the strategy's run: loading is shared or one-off
    try:
        result = strategy.run(task)
    except FATAL_ALWAYS:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded in the row, the sweep goes on
        log.debug("trial %s failed", spec.instance, exc_info=True)
        return make_row(spec, None, time.perf_counter() - started, error=_one_line(exc))
    return make_row(spec, result, time.perf_counter() - started)


def make_row(spec: TrialSpec, result: Any, seconds: float, error: str | None = None) -> dict[str, Any]:
    """The store row of a finished trial (see the schema in :mod:`llm_modulo.experiments.store`)."""
    budget = spec.budget
    row: dict[str, Any] = {
        "key": spec.key,
        "sweep": spec.sweep,
        "label": spec.label,
        "domain": spec.domain,
        "instance_set": spec.instance_set,
        "instance": spec.instance,
        "strategy": spec.strategy,
        "model": spec.model,
        "proposer": "random" if spec.model == "random" else "llm",
        "feedback": spec.feedback,
        "seed": spec.seed,
        "budget_json": budget.model_dump_json(),
        "budget_samples": budget.samples,
        "budget_tokens": budget.tokens,
        "budget_rounds": budget.rounds,
        "budget_nodes": budget.nodes,
        "config_json": canonical_json(spec.config()),
        "seconds": seconds,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }
    if result is None:
        row.update(status="error", verified=0, error=error or "error", result_json=None)
        return row
    usage = result.usage
    row.update(
        status=result.status.value,
        verified=int(result.verified),
        rounds=usage.rounds,
        samples=usage.samples,
        llm_calls=usage.llm_calls,
        nodes=getattr(usage, "nodes", None),
        prompt_tokens=usage.prompt_tokens,
        generated_tokens=usage.generated_tokens,
        answer_len=len(result.answer) if isinstance(result.answer, (list, tuple)) else None,
        result_json=result.model_dump_json(),
        error=None,
    )
    return row


# -- the per-process model cache, as the executors see it -----------------------------------


def set_batching(on: bool) -> None:
    """While on, models loaded in this process are wrapped for batched decoding (``--batch``)."""
    if on:
        _BATCHING.set()
    else:
        _BATCHING.clear()


def cached_models() -> list[Any]:
    """The models this process holds (without the lock: a stop must not wait for a model loading)."""
    return list(_MODELS.values())


def drop_batched_models(resolved: str | None = None, *, locked: bool = True) -> list[Any]:
    """Drop the batched models (only ``resolved``'s, if given) from the cache and return them;
    ``locked=False`` when the sweep is stopping, which must not wait for a model still loading."""
    with _MODELS_LOCK if locked else contextlib.nullcontext():
        keys = [k for k in list(_MODELS) if k[2] and (resolved is None or k[0] == resolved)]
        return [_MODELS.pop(key) for key in keys]


# -- the worker entry point ------------------------------------------------------------------


def execute_trial(
    spec_data: dict[str, Any], threads: int | None = None, cache_path: str | None = None
) -> dict[str, Any]:
    """What a worker runs: ``{"row": ..., "model": {...}}``, or ``{"fatal": ...}`` for an error that
    must stop the sweep (sent as data: exceptions do not always survive pickling)."""
    configure_threads(threads)
    spec = TrialSpec.model_validate(spec_data)
    try:
        row = run_trial(spec, cache_path)
    except FATAL_AT_SETUP as exc:
        return {
            "key": spec.key,
            "fatal": f"{spec.model} on {spec.instance}: {exc.format_message()}",
            "fatal_type": type(exc).__name__,
        }
    model = _MODELS.get(_model_key(spec, cache_path))
    info = {"name": getattr(model, "name", spec.model), "description": _describe(model)} if model is not None else None
    if info is None and fresh_per_trial(spec.model):
        info = {
            "name": "random" if spec.model == "random" else "scripted",
            "description": _fresh_description(spec.model),
        }
    return {"key": spec.key, "row": row, "model": info}


def _fresh_description(spec: str) -> str:
    if spec == "random":
        return "uniform-random proposer over the domain's answer grammar (the control)"
    return f"scripted completions from {spec.removeprefix('scripted:')}"


def configure_threads(threads: int | None) -> None:
    """Once per process: limit torch's threads (several workers on few cores slow 5-20x otherwise)."""
    global _THREADS
    if threads is None or _THREADS == threads:
        return
    _THREADS = threads
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)  # read by torch when it is imported later
    _set_threads()


def _set_threads() -> None:
    """``torch.set_num_threads`` where torch is loaded (a local model imports it on load)."""
    if _THREADS is not None and "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != _THREADS:
            torch.set_num_threads(_THREADS)


@contextmanager
def ctrl_c_deferred() -> Iterator[None]:
    """Hold SIGINT until the block ends (a Ctrl-C arriving inside it is raised right after).

    A process started inside the block inherits the held signal, so a terminal's Ctrl-C cannot
    interrupt its start-up (imports, unpickling) before ``worker_init`` ignores it.
    """
    blocked = {signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


def worker_init(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held since the start (ctrl_c_deferred)
    configure_threads(threads)


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


__all__ = [
    "FATAL_ALWAYS",
    "FATAL_AT_SETUP",
    "FatalTrialError",
    "batcher_of",
    "build_strategy",
    "cached_models",
    "configure_threads",
    "ctrl_c_deferred",
    "drop_batched_models",
    "execute_trial",
    "fresh_per_trial",
    "trial_task",
    "make_row",
    "model_for",
    "run_trial",
    "set_batching",
    "threads_per_worker",
    "worker_init",
]
