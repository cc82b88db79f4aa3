"""Where trials run: in this process, in local worker processes, or on a Ray cluster.

:func:`run_trial` runs one :class:`~llm_modulo.experiments.config.TrialSpec` and returns its
store row. Workers keep one model per (process, spec), so a local model loads once per worker;
the scripted and random models are built fresh for each trial, so their results never depend
on which worker ran what before. An ordinary exception inside a trial becomes a row with status
``error``; errors that doom every trial (a bad model spec, a model that will not load, an
unreachable server, a task that cannot be read) abort the sweep instead (:class:`FatalTrialError`).

With ``--batch K`` (:class:`BatchedExecutor`) K trials run at once in this process, in threads,
and a local model's ``sample`` calls from all of them are decoded together
(:class:`~llm_modulo.models.batching.BatchingModel`): the forward passes are shared, which is
where a small model's throughput comes from, on a GPU above all.

The executors share one small interface (:class:`Executor`): ``submit`` a spec, ``wait`` for
finished handles, ``outcome`` of a handle, ``shutdown``. The driver alone writes the store.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from llm_modulo.errors import InputError, LLMModuloError, ModelLoadError, ServerUnreachableError
from llm_modulo.experiments.config import TrialSpec, canonical_json

log = logging.getLogger(__name__)

# Errors that doom the whole sweep, wherever they happen: the model or server is unusable.
FATAL_ALWAYS: tuple[type[BaseException], ...] = (ModelLoadError, ServerUnreachableError)
# Errors that doom the sweep when building a trial (model spec, task files): bad input.
FATAL_AT_SETUP: tuple[type[BaseException], ...] = (InputError, *FATAL_ALWAYS)

_MODELS: dict[tuple[str, str | None], Any] = {}  # per process: (spec, cache path) -> model
_THREADS: int | None = None
_MODELS_LOCK = threading.Lock()  # one load per model when trials run in threads
_SETUP_LOCK = threading.Lock()  # task loading (unified-planning's parser) is not thread-safe
_BATCHING = threading.Event()  # set while a BatchedExecutor runs in this process
_BATCH_LOCK = threading.RLock()  # one batch at a time across this process's models (they share the cores)


DEVICE_ENV = "LLM_MODULO_DEVICE"  # where local models run in the workers (cpu, cuda); `bench --device` sets it


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
    if type(inner).__repr__ is not object.__repr__:
        return repr(inner)
    return type(inner).__name__


def model_for(spec: TrialSpec, cache_path: str | None = None) -> Any:
    """The trial's language model: cached per (process, spec), or fresh for scripted/random."""
    from llm_modulo.models import load_model

    if fresh_per_trial(spec.model):
        return load_model(spec.model_resolved, seed=spec.seed)
    key = (spec.model_resolved, cache_path, _BATCHING.is_set())
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            device = os.environ.get(DEVICE_ENV, "cpu")  # not a setting of the trial: the hardware is recorded per run
            model = load_model(spec.model_resolved, device=device)
            if hasattr(model, "load"):
                model.load()
            _set_threads()
            if key[2]:  # concurrent trials: their calls meet in one batch (one batch at a time)
                from llm_modulo.models.batching import BatchingModel

                model = BatchingModel(model, lock=_BATCH_LOCK)
            if cache_path is not None:
                from llm_modulo.experiments.cache import CachingModel

                model = CachingModel(model, spec.model, cache_path)
            _MODELS[key] = model
    return model


def batcher_of(model: Any) -> Any:
    """The :class:`~llm_modulo.models.batching.BatchingModel` inside ``model`` (cache wrapper
    included), or None."""
    from llm_modulo.models.batching import BatchingModel

    while model is not None and not isinstance(model, BatchingModel):
        model = model.__dict__.get("model") if hasattr(model, "__dict__") else None
    return model


def load_task(spec: TrialSpec) -> tuple[Any, Any]:
    """(domain, task) from the PDDL paths the driver resolved, else by the domain's instance name.

    The domain option ``prompt_format`` (``"compact"``: the problem statement alone; ``"full"``:
    the domain's zero-shot prompt) runs the domain with the prompts of
    :mod:`llm_modulo.training.chat`, the ones a trained adapter was trained on.
    """
    from llm_modulo.registry import load_planning_task
    from llm_modulo.registry import load_task as load_named

    options = dict(spec.domain_options)
    prompt_format = options.pop("prompt_format", None)
    if prompt_format is not None:  # both training formats are zero-shot (checked when the sweep loads)
        options.setdefault("one_shot", False)
    if spec.domain_file and spec.problem_file and os.path.isfile(spec.domain_file) and os.path.isfile(spec.problem_file):
        domain, task = load_planning_task(
            spec.domain_file, spec.problem_file, spec.domain, spec.style, spec.instance, **options
        )
    else:
        domain, task = load_named(spec.instance, spec.domain, spec.style, **options)
    if prompt_format == "compact":  # the prompts a model trained by ``llm-modulo train`` was trained on
        from llm_modulo.training.chat import CompactPrompts

        domain = CompactPrompts(domain)
    return domain, task


def build_strategy(spec: TrialSpec, model: Any, domain: Any) -> Any:
    from llm_modulo.protocols import SamplingParams
    from llm_modulo.registry import get_strategy

    params = SamplingParams(
        temperature=spec.sampling.temperature,
        top_p=spec.sampling.top_p,
        max_tokens=spec.sampling.max_tokens,
        seed=spec.seed,
    )
    cls = get_strategy(spec.strategy)
    return cls(model, domain, budget=spec.budget, params=params, feedback=spec.feedback, seed=spec.seed, **spec.options)


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
            domain, task = load_task(spec)
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


# -- the worker entry point ------------------------------------------------------------------


def execute_trial(spec_data: dict[str, Any], threads: int | None = None, cache_path: str | None = None) -> dict[str, Any]:
    """What a worker runs: ``{"row": ..., "model": {...}}``, or ``{"fatal": ...}`` for an error that
    must stop the sweep (sent as data: exceptions do not always survive pickling)."""
    _configure(threads)
    spec = TrialSpec.model_validate(spec_data)
    try:
        row = run_trial(spec, cache_path)
    except FATAL_AT_SETUP as exc:
        return {"key": spec.key, "fatal": f"{spec.model} on {spec.instance}: {exc.format_message()}",
                "fatal_type": type(exc).__name__}
    model = _MODELS.get((spec.model_resolved, cache_path, _BATCHING.is_set()))
    info = {"name": getattr(model, "name", spec.model), "description": _describe(model)} if model is not None else None
    if info is None and fresh_per_trial(spec.model):
        info = {"name": "random" if spec.model == "random" else "scripted", "description": _fresh_description(spec.model)}
    return {"key": spec.key, "row": row, "model": info}


def _fresh_description(spec: str) -> str:
    if spec == "random":
        return "uniform-random proposer over the domain's answer grammar (the control)"
    return f"scripted completions from {spec.removeprefix('scripted:')}"


def _configure(threads: int | None) -> None:
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


def _worker_init(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _configure(threads)


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


# -- executors -------------------------------------------------------------------------------


class Executor(Protocol):
    name: str
    workers: int

    def submit(self, spec: TrialSpec) -> Any: ...

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        """Handles among ``handles`` that have finished (at least one unless the timeout passes)."""
        ...

    def ready(self, handles: Sequence[Any]) -> list[Any]:
        """Handles already finished, without waiting (nor running anything)."""
        ...

    def outcome(self, handle: Any) -> dict[str, Any]: ...

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        """Stop; with ``kill``, give up the trials in flight (``handles``) at once."""
        ...


class InProcessExecutor:
    """``--workers 1``: trials run in this process, one at a time (handy under a debugger)."""

    name = "local"

    def __init__(self, cache_path: str | None = None, threads: int | None = None) -> None:
        self.workers = 1
        self.cache_path = cache_path
        self.threads = threads
        self._outcomes: dict[int, dict[str, Any]] = {}
        self._pending: dict[int, TrialSpec] = {}
        self._next = 0

    def submit(self, spec: TrialSpec) -> int:
        self._next += 1
        self._pending[self._next] = spec
        return self._next

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        for handle in handles:
            if handle in self._outcomes:
                return [handle]
        handle = handles[0]
        spec = self._pending.pop(handle)
        self._outcomes[handle] = execute_trial(spec.model_dump(mode="json"), self.threads, self.cache_path)
        return [handle]

    def ready(self, handles: Sequence[Any]) -> list[Any]:
        return [h for h in handles if h in self._outcomes]

    def outcome(self, handle: Any) -> dict[str, Any]:
        return self._outcomes.pop(handle)

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        self._pending.clear()


class _FuturesExecutor:
    """Handles are ``concurrent.futures`` futures."""

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def ready(self, handles: Sequence[Any]) -> list[Any]:
        return [h for h in handles if h.done() and not h.cancelled()]


def _batched_trial(
    spec_data: dict[str, Any], threads: int | None, cache_path: str | None, stopping: threading.Event | None = None
) -> dict[str, Any]:
    """:func:`execute_trial` in a :class:`BatchedExecutor` thread, counted as a client of its
    model's batcher while it runs (a batch starts at once when every client waits). Once
    ``stopping`` is set (the sweep is being stopped) the trial does not start, and a batcher made
    after the stop (the model was still loading) is abandoned before it decodes anything."""
    if stopping is not None and stopping.is_set():
        raise RuntimeError("abandoned: the sweep is stopping")
    spec = TrialSpec.model_validate(spec_data)
    batcher = None
    if not fresh_per_trial(spec.model):
        try:
            batcher = batcher_of(model_for(spec, cache_path))
        except FATAL_AT_SETUP:
            pass  # execute_trial meets the error again and reports it as fatal
    if stopping is not None and stopping.is_set():
        if batcher is not None:
            batcher.abandon()
        raise RuntimeError("abandoned: the sweep is stopping")
    if batcher is None:
        return execute_trial(spec_data, threads, cache_path)
    with batcher.client():
        return execute_trial(spec_data, threads, cache_path)


class BatchedExecutor(_FuturesExecutor):
    """``--batch K``: K trials at once in this process, in threads, their local-model calls
    decoded as shared batches. One batch runs at a time, on all ``threads``."""

    name = "local"

    def __init__(self, batch: int, cache_path: str | None = None, threads: int | None = None) -> None:
        self.workers = batch
        self.batch = batch
        self.cache_path = cache_path
        self.threads = threads or threads_per_worker(1)
        _BATCHING.set()
        _configure(self.threads)
        self._pool = cf.ThreadPoolExecutor(max_workers=batch, thread_name_prefix="llm-modulo-trial")
        self._stopping = threading.Event()

    def submit(self, spec: TrialSpec) -> cf.Future[dict[str, Any]]:
        return self._pool.submit(
            _batched_trial, spec.model_dump(mode="json"), self.threads, self.cache_path, self._stopping
        )

    def outcome(self, handle: Any) -> dict[str, Any]:
        return handle.result()  # type: ignore[no-any-return]

    def release(self, model: str) -> None:
        """Drop the model ``model`` (a resolved spec) once no trial left in the sweep uses it: the
        runner submits each model's trials side by side, so a sweep over many adapters holds one
        or two at a time instead of every one it has loaded. A later trial of it loads it again."""
        with _MODELS_LOCK:
            dropped = [_MODELS.pop(key) for key in [k for k in _MODELS if k[0] == model and k[2]]]
        for item in dropped:
            batcher = batcher_of(item)
            if batcher is not None:
                batcher.close()
        if dropped:
            import gc

            gc.collect()
            if os.environ.get(DEVICE_ENV, "cpu").startswith("cuda"):
                import torch

                torch.cuda.empty_cache()
            log.info("released %s: no trial left uses it", model)

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        # threads cannot be killed: with ``kill`` the queued trials are dropped, the batch being
        # decoded is interrupted, and every call after it fails, so the trials in flight end at once
        # (their rows are not committed)
        if kill:
            self._stopping.set()  # first: a trial whose model is still loading must not start after it
            for model in list(_MODELS.values()):
                batcher = batcher_of(model)
                if batcher is not None:
                    batcher.abandon()
        self._pool.shutdown(wait=not kill, cancel_futures=kill)
        _BATCHING.clear()
        if kill:  # abandoned batchers refuse calls: the next run in this process makes new ones
            for key in [k for k, m in _MODELS.items() if k[2]]:
                del _MODELS[key]


class LocalExecutor(_FuturesExecutor):
    """A pool of ``workers`` processes (the "spawn" start method: no inherited locks or threads)."""

    name = "local"

    def __init__(self, workers: int, cache_path: str | None = None, threads: int | None = None) -> None:
        self.workers = workers
        self.cache_path = cache_path
        self.threads = threads or threads_per_worker(workers)
        self._pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(self.threads,),
        )

    def submit(self, spec: TrialSpec) -> cf.Future[dict[str, Any]]:
        return self._pool.submit(execute_trial, spec.model_dump(mode="json"), self.threads, self.cache_path)

    def outcome(self, handle: Any) -> dict[str, Any]:
        try:
            return handle.result()  # type: ignore[no-any-return]
        except cf.process.BrokenProcessPool:
            raise FatalTrialError("a worker process died (killed, or out of memory?); finished trials are kept") from None

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        if kill:
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:  # the trials in flight are given up: they were not committed
                if proc.is_alive():
                    proc.terminate()
            for proc in processes:
                proc.join(timeout=5)
        else:
            self._pool.shutdown(wait=True)


class RayExecutor:
    """Ray tasks (one CPU each) on a local Ray instance or an existing cluster (``address``).

    On a cluster every node needs this package installed and the benchmark data at the same path
    (or ``$LLM_MODULO_BENCHMARKS`` set there); the driver alone writes the store.
    """

    name = "ray"

    def __init__(self, workers: int, address: str | None = None, cache_path: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise InputError("--executor ray needs ray: pip install 'llm-modulo[ray]'") from None
        self._ray = ray
        self.cache_path = cache_path
        self._owns = False
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
                else:
                    ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING,
                             log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise InputError(f"cannot start or join Ray{f' at {address}' if address else ''}: {exc}") from None
            self._owns = True
        cpus = int(ray.cluster_resources().get("CPU", workers))
        self.workers = workers if not address else max(1, cpus)
        self.threads = 1 if not address else None  # a cluster's nodes know their own cores
        self._remote = ray.remote(num_cpus=1, max_retries=0)(execute_trial)

    def submit(self, spec: TrialSpec) -> Any:
        return self._remote.remote(spec.model_dump(mode="json"), self.threads, self.cache_path)

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        done, _ = self._ray.wait(list(handles), num_returns=1, timeout=timeout)
        return list(done)

    def ready(self, handles: Sequence[Any]) -> list[Any]:
        if not handles:
            return []
        done, _ = self._ray.wait(list(handles), num_returns=len(handles), timeout=0)
        return list(done)

    def outcome(self, handle: Any) -> dict[str, Any]:
        try:
            return self._ray.get(handle)  # type: ignore[no-any-return]
        except self._ray.exceptions.RayError as exc:  # the worker process died, or the task crashed
            raise FatalTrialError(f"a Ray task failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") from None

    def cancel(self, handles: Sequence[Any]) -> None:
        for handle in handles:
            try:
                self._ray.cancel(handle, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        if kill:
            self.cancel(handles)
        if self._owns:
            self._ray.shutdown()


def make_executor(
    kind: str,
    workers: int,
    address: str | None = None,
    cache_path: str | None = None,
    threads: int | None = None,
    batch: int | None = None,
) -> Any:
    """``threads``: torch threads per local worker (default: the cores split between the workers);
    ``batch``: trials at once in this process, their model calls batched (local, one worker)."""
    if batch is not None and batch > 1:
        if kind != "local" or workers > 1:
            raise InputError("--batch runs the trials in threads of one process: use it with --workers 1 and the local executor")
        if threads is not None and threads < 1:
            raise InputError("--threads must be at least 1")
        return BatchedExecutor(batch, cache_path, threads)
    if kind == "ray":
        return RayExecutor(workers, address, cache_path)
    if kind != "local":
        raise InputError(f"unknown executor {kind!r}; known: local, ray")
    if threads is not None and threads < 1:
        raise InputError("--threads must be at least 1")
    if workers <= 1:
        return InProcessExecutor(cache_path, threads)
    return LocalExecutor(workers, cache_path, threads)


__all__ = [
    "BatchedExecutor",
    "FatalTrialError",
    "InProcessExecutor",
    "LocalExecutor",
    "RayExecutor",
    "execute_trial",
    "make_executor",
    "make_row",
    "model_for",
    "run_trial",
    "threads_per_worker",
]
