"""Where trials run: in this process, in local worker processes, or on a Ray cluster.

What runs is :func:`~llm_modulo.experiments.worker.execute_trial` (one trial, from its spec to
its store row; see :mod:`llm_modulo.experiments.worker`, whose names are importable from here too).

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
import queue
import sys
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from llm_modulo.errors import InputError
from llm_modulo.experiments.trials import TrialSpec
from llm_modulo.experiments.worker import (
    FATAL_ALWAYS,
    FATAL_AT_SETUP,
    FatalTrialError,
    batcher_of,
    build_strategy,
    cached_models,
    configure_threads,
    ctrl_c_deferred,
    drop_batched_models,
    execute_trial,
    fresh_per_trial,
    make_row,
    model_for,
    run_trial,
    set_batching,
    threads_per_worker,
    trial_task,
    worker_init,
)

log = logging.getLogger(__name__)


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
    """Handles are ``concurrent.futures`` futures.

    A future reports its end on a queue (a done-callback) that :meth:`wait` reads, rather than
    through ``concurrent.futures.wait``: that one takes every future's lock in turn, and a Ctrl-C
    landing between two takes leaves a lock held for good; the pool's thread then blocks on it
    setting that future's result, and the interpreter's exit blocks joining that thread."""

    def __init__(self) -> None:
        self._finished: queue.SimpleQueue[cf.Future[Any]] = queue.SimpleQueue()
        self._seen: set[cf.Future[Any]] = set()  # finished, not yet handed out by wait

    def _track(self, future: cf.Future[dict[str, Any]]) -> cf.Future[dict[str, Any]]:
        future.add_done_callback(self._finished.put)
        return future

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        wanted = set(handles)
        ended = self._seen & wanted
        try:
            if not ended:
                ended.add(self._finished.get(timeout=timeout))
            while True:
                ended.add(self._finished.get_nowait())
        except queue.Empty:
            pass
        self._seen |= ended - wanted  # ended, but not among ``handles``: kept for a later call
        self._seen -= wanted
        return [h for h in handles if h in ended]

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
        super().__init__()
        self.workers = batch
        self.batch = batch
        self.cache_path = cache_path
        self.threads = threads or threads_per_worker(1)
        set_batching(True)
        configure_threads(self.threads)
        self._pool = cf.ThreadPoolExecutor(max_workers=batch, thread_name_prefix="llm-modulo-trial")
        self._stopping = threading.Event()

    def submit(self, spec: TrialSpec) -> cf.Future[dict[str, Any]]:
        return self._track(
            self._pool.submit(
                _batched_trial, spec.model_dump(mode="json"), self.threads, self.cache_path, self._stopping
            )
        )

    def outcome(self, handle: Any) -> dict[str, Any]:
        return handle.result()  # type: ignore[no-any-return]

    def release(self, model: str) -> None:
        """Drop the model ``model`` (a resolved spec) once no trial left in the sweep uses it: the
        runner submits each model's trials side by side, so a sweep over many adapters holds one
        or two at a time instead of every one it has loaded. A later trial of it loads it again."""
        dropped = drop_batched_models(model)
        for item in dropped:
            batcher = batcher_of(item)
            if batcher is not None:
                batcher.close()
        if dropped:
            import gc

            gc.collect()
            torch = sys.modules.get("torch")  # loaded only if a local model ran here
            if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
                torch.cuda.empty_cache()
            log.info("released %s: no trial left uses it", model)

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        # threads cannot be killed: with ``kill`` the queued trials are dropped, the batch being
        # decoded is interrupted, and every call after it fails, so the trials in flight end at once
        # (their rows are not committed)
        if kill:
            self._stopping.set()  # first: a trial whose model is still loading must not start after it
            for model in cached_models():
                batcher = batcher_of(model)
                if batcher is not None:
                    batcher.abandon()
        self._pool.shutdown(wait=not kill, cancel_futures=kill)
        set_batching(False)
        if kill:  # abandoned batchers refuse calls: the next run in this process makes new ones
            drop_batched_models(locked=False)


class LocalExecutor(_FuturesExecutor):
    """A pool of ``workers`` processes (the "spawn" start method: no inherited locks or threads)."""

    name = "local"

    def __init__(self, workers: int, cache_path: str | None = None, threads: int | None = None) -> None:
        super().__init__()
        self.workers = workers
        self.cache_path = cache_path
        self.threads = threads or threads_per_worker(workers)
        self._pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_init,
            initargs=(self.threads,),
        )

    def submit(self, spec: TrialSpec) -> cf.Future[dict[str, Any]]:
        with ctrl_c_deferred():  # the pool starts its workers here: they start with Ctrl-C held
            job = self._pool.submit(execute_trial, spec.model_dump(mode="json"), self.threads, self.cache_path)
        return self._track(job)

    def outcome(self, handle: Any) -> dict[str, Any]:
        try:
            return handle.result()  # type: ignore[no-any-return]
        except cf.process.BrokenProcessPool:
            raise FatalTrialError(
                "a worker process died (killed, or out of memory?); finished trials are kept"
            ) from None

    def shutdown(self, kill: bool = False, handles: Sequence[Any] = ()) -> None:
        if kill:
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:  # the trials in flight are given up: they were not committed
                if proc.is_alive():
                    proc.terminate()
            for proc in processes:
                proc.join(timeout=5)
            # A worker killed halfway through sending its result leaves a partial message that the
            # pool's thread (which the interpreter's exit waits for) waits on forever. With every worker
            # gone, closing the results pipe's last writer turns that wait into an end-of-file.
            result_queue = getattr(self._pool, "_result_queue", None)
            writer = getattr(result_queue, "_writer", None)
            if writer is not None and not any(proc.is_alive() for proc in processes):
                writer.close()
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
                    ray.init(
                        num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
                    )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise InputError(f"cannot start or join Ray{f' at {address}' if address else ''}: {exc}") from None
            self._owns = True
        cpus = int(ray.cluster_resources().get("CPU", workers))  # type: ignore[no-untyped-call]  # ray: unannotated
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
            raise FatalTrialError(
                f"a Ray task failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
            ) from None

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
            raise InputError(
                "--batch runs the trials in threads of one process: use it with --workers 1 and the local executor"
            )
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
    "FATAL_ALWAYS",
    "FATAL_AT_SETUP",
    "BatchedExecutor",
    "Executor",
    "FatalTrialError",
    "InProcessExecutor",
    "LocalExecutor",
    "RayExecutor",
    "batcher_of",
    "build_strategy",
    "execute_trial",
    "fresh_per_trial",
    "trial_task",
    "make_executor",
    "make_row",
    "model_for",
    "run_trial",
    "threads_per_worker",
]
