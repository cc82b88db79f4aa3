"""BatchingModel: concurrent ``sample`` calls meet in one ``sample_many`` batch (a fake model, fast)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from llm_modulo.errors import InputError
from llm_modulo.models.batching import BatchingModel
from llm_modulo.protocols import Batch, Completion, Prompt, SampleRequest, SamplingParams

P = SamplingParams(max_tokens=4, seed=0)


def prompt(text: str) -> Prompt:
    return Prompt(({"role": "user", "content": text},))


class Echo:
    """Answers each request with its prompt text; records the batches it was given."""

    name = "echo"

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay
        self.inside = 0
        self.overlap = False

    def sample_many(self, requests: Sequence[SampleRequest]) -> list[Batch | Exception]:
        self.inside += 1
        self.overlap |= self.inside > 1
        time.sleep(self.delay)
        texts = [r.prompt.messages[0]["content"] for r in requests]
        self.batches.append(texts)
        self.inside -= 1
        return [
            InputError(f"bad {t}") if t.startswith("bad") else Batch([Completion(t, 1)] * r.n)
            for t, r in zip(texts, requests, strict=False)
        ]

    def score(self, prompt: Prompt, continuations: Sequence[str], seed: int | None = None) -> list[float]:
        self.inside += 1
        self.overlap |= self.inside > 1
        time.sleep(self.delay)
        self.inside -= 1
        return [0.0] * len(continuations)


def run_clients(model: BatchingModel, texts: list[str], n: int = 1) -> dict[str, object]:
    results: dict[str, object] = {}
    start = threading.Barrier(len(texts))

    def client(text: str) -> None:
        with model.client():
            start.wait()
            try:
                results[text] = model.sample(prompt(text), n, P)
            except Exception as exc:  # noqa: BLE001
                results[text] = exc

    threads = [threading.Thread(target=client, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_concurrent_calls_share_one_batch_and_each_gets_its_own_answer() -> None:
    echo = Echo()
    model = BatchingModel(echo, window=5.0)  # a long window: only "every client waits" starts it
    texts = [f"q{i}" for i in range(6)]
    started = time.monotonic()
    results = run_clients(model, texts, n=2)
    assert time.monotonic() - started < 4.0
    assert len(echo.batches) == 1 and sorted(echo.batches[0]) == texts
    for text in texts:
        batch = results[text]
        assert isinstance(batch, Batch) and [c.text for c in batch.completions] == [text, text]
    assert model.batches == 1 and model.requests == 6


def test_a_bad_request_fails_only_its_caller() -> None:
    model = BatchingModel(Echo(), window=5.0)
    results = run_clients(model, ["good", "bad one", "fine"])
    assert isinstance(results["bad one"], InputError)
    assert isinstance(results["good"], Batch) and isinstance(results["fine"], Batch)


def test_a_busy_client_does_not_hold_the_batch_past_the_window() -> None:
    echo = Echo()
    model = BatchingModel(echo, window=0.05)
    with model.client():  # a second client that never calls: the first one waits the window only
        started = time.monotonic()
        results = run_clients(model, ["alone"])
        assert time.monotonic() - started < 2.0
    assert isinstance(results["alone"], Batch) and echo.batches == [["alone"]]


def test_max_rows_splits_batches_between_requests() -> None:
    echo = Echo()
    model = BatchingModel(echo, window=5.0, max_rows=4)
    results = run_clients(model, ["a", "b", "c"], n=2)
    assert all(isinstance(r, Batch) for r in results.values())
    assert sorted(len(b) for b in echo.batches) == [1, 2]


def test_other_methods_never_overlap_a_batch() -> None:
    echo = Echo(delay=0.05)
    model = BatchingModel(echo, window=0.01)
    errors: list[BaseException] = []

    def scorer() -> None:
        try:
            for _ in range(5):
                assert model.score(prompt("x"), ["a", "b"]) == [0.0, 0.0]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=scorer)
    thread.start()
    run_clients(model, ["a", "b"])
    run_clients(model, ["c"])
    thread.join(10)
    assert not errors and not echo.overlap
    assert model.name == "echo"  # plain attributes are forwarded


def test_a_model_without_sample_many_is_serialized() -> None:
    class Plain:
        name = "plain"
        inside = 0
        overlap = False

        def sample(self, prompt: Prompt, n: int, params: SamplingParams, constraint: object = None) -> Batch:
            Plain.inside += 1
            Plain.overlap |= Plain.inside > 1
            time.sleep(0.02)
            Plain.inside -= 1
            return Batch([Completion(prompt.messages[0]["content"], 1)] * n)

    model = BatchingModel(Plain())
    results = run_clients(model, ["a", "b", "c"])
    assert {k: v.completions[0].text for k, v in results.items()} == {"a": "a", "b": "b", "c": "c"}  # type: ignore[union-attr]
    assert not Plain.overlap


def sampler(model: BatchingModel, results: dict[str, object]):
    """A thread body: one ``sample`` of "x", its result or its RuntimeError put in ``results``."""

    def client() -> None:
        try:
            results["x"] = model.sample(prompt("x"), 1, P)
        except RuntimeError as exc:
            results["x"] = exc

    return client


def test_abandon_fails_the_waiting_calls() -> None:
    echo = Echo()
    model = BatchingModel(echo, window=30.0)
    results: dict[str, object] = {}
    client = sampler(model, results)

    with model.client(), model.client():  # two clients, one calls: the batch waits the (long) window
        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(0.2)
        model.abandon()
        thread.join(5)
    assert isinstance(results["x"], RuntimeError) and "abandoned" in str(results["x"])
    assert echo.batches == []  # nothing was decoded for it
    with pytest.raises(RuntimeError):
        model.sample(prompt("y"), 1, P)


def test_abandon_interrupts_the_batch_being_decoded() -> None:
    """The batch in progress is stopped too, where the model can be interrupted (a local model)."""

    class Interruptible(Echo):
        def __init__(self) -> None:
            super().__init__()
            self.stop = threading.Event()
            self.started = threading.Event()

        def interrupt(self) -> None:
            self.stop.set()

        def sample_many(self, requests: Sequence[SampleRequest]) -> list[Batch | Exception]:
            self.started.set()
            if not self.stop.wait(30):  # a long decode, unless interrupted
                return super().sample_many(requests)
            raise RuntimeError("interrupted")

    inner = Interruptible()
    model = BatchingModel(inner)
    results: dict[str, object] = {}
    client = sampler(model, results)

    thread = threading.Thread(target=client)
    start = time.monotonic()
    thread.start()
    assert inner.started.wait(10)
    model.abandon()
    thread.join(10)
    assert str(results["x"]) == "interrupted" and time.monotonic() - start < 10
