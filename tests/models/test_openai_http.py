"""The OpenAI-compatible HTTP backend against a tiny real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llm_modulo.budget import run_deadline
from llm_modulo.errors import (
    BudgetSecondsExceeded,
    DeadlineExceeded,
    InputError,
    ServerResponseError,
    ServerUnreachableError,
)
from llm_modulo.models import load_model
from llm_modulo.models.openai_http import DEFAULT_DEADLINE_S, OpenAIModel, parse_model_spec
from llm_modulo.protocols import LanguageModel, LineConstraint, Prompt, SamplingParams

PROMPT = Prompt(messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}))
PARAMS = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=16, stop=("\n\n",), seed=7)

# A behaviour gets the request body and the 1-based count of requests so far; it returns
# (status, json-able body or raw bytes), or sleeps (hangs) first.
Behaviour = Callable[[dict[str, Any], int], tuple[int, Any]]


@dataclass
class FakeServer:
    url: str  # base URL, ending in /v1
    behaviour: Behaviour | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def hits(self) -> int:
        return len(self.bodies)


def openai_answer(body: dict[str, Any], choices: int, text: str = "hello") -> dict[str, Any]:
    chat = "messages" in body

    def choice(i: int) -> dict[str, Any]:
        content = {"message": {"role": "assistant", "content": f"{text} {i}"}} if chat else {"text": f"{text} {i}"}
        return {"index": i, "finish_reason": "stop", **content}

    return {
        "object": "chat.completion" if chat else "text_completion",
        "model": body.get("model"),
        "choices": [choice(i) for i in range(choices)],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3 * choices, "total_tokens": 11 + 3 * choices},
    }


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with state.lock:
                state.bodies.append(body)
                state.paths.append(self.path)
                count = len(state.bodies)
            assert state.behaviour is not None
            status, payload = state.behaviour(body, count)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:  # the client gave up on a hanging request
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    """A loopback port nobody listens on: bind, note it, close."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----- answers -----


def test_is_a_language_model(server: FakeServer) -> None:
    assert isinstance(OpenAIModel(server.url, "m"), LanguageModel)


def test_chat_returns_n_choices_in_one_request(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (200, openai_answer(body, body["n"]))
    with OpenAIModel(server.url, "tiny", api_key="k") as model:
        batch = model.sample(PROMPT, 3, PARAMS)
    assert [c.text for c in batch.completions] == ["hello 0", "hello 1", "hello 2"]
    assert [c.tokens for c in batch.completions] == [3, 3, 3]
    assert all(c.prompt_tokens == 11 and c.finish_reason == "stop" for c in batch.completions)
    assert batch.meta["requests"] == 1 and batch.meta["token_counts"] == "usage-split"
    assert server.paths == ["/v1/chat/completions"]
    body = server.bodies[0]
    assert body["model"] == "tiny" and body["messages"] == [dict(m) for m in PROMPT.messages]
    assert (body["n"], body["temperature"], body["top_p"], body["max_tokens"]) == (3, 0.7, 0.9, 16)
    assert body["stop"] == ["\n\n"] and body["seed"] == 7
    assert "continue_final_message" not in body


def test_server_ignoring_n_is_topped_up_with_distinct_seeds(server: FakeServer) -> None:
    server.behaviour = lambda body, count: (200, openai_answer(body, 1, text=f"r{count}"))
    batch = OpenAIModel(server.url, "tiny").sample(PROMPT, 4, PARAMS)
    assert len(batch.completions) == 4 and batch.meta["requests"] == 4
    assert len({c.text for c in batch.completions}) == 4
    assert sorted(b["seed"] for b in server.bodies) == [7, 8, 9, 10]
    assert batch.meta["token_counts"] == "usage"


def test_server_capping_n_is_topped_up_in_chunks(server: FakeServer) -> None:
    server.behaviour = lambda body, count: (200, openai_answer(body, min(body["n"], 2), text=f"r{count}"))
    batch = OpenAIModel(server.url, "tiny").sample(PROMPT, 5, PARAMS)
    assert len(batch.completions) == 5 and batch.meta["requests"] == 3
    assert sorted(b["n"] for b in server.bodies) == [1, 2, 5]


def test_completions_mode_posts_the_plain_prompt_with_prefill(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (200, openai_answer(body, 2))
    prompt = Prompt(messages=PROMPT.messages, prefill="(unstack a b)\n")
    batch = OpenAIModel(server.url, "tiny", mode="completions").sample(prompt, 2, PARAMS)
    assert [c.text for c in batch.completions] == ["hello 0", "hello 1"]
    assert server.paths == ["/v1/completions"]
    assert server.bodies[0]["prompt"] == prompt.render_plain()


def test_chat_prefill_is_a_final_assistant_message_to_continue(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (200, openai_answer(body, 1))
    prompt = Prompt(messages=PROMPT.messages, prefill="Hi")
    OpenAIModel(server.url, "tiny").sample(prompt, 1, PARAMS)
    OpenAIModel(server.url, "tiny", continue_final_message=False).sample(prompt, 1, PARAMS)
    first, second = server.bodies
    assert first["messages"][-1] == {"role": "assistant", "content": "Hi"}
    assert first["continue_final_message"] is True and first["add_generation_prompt"] is False
    assert second["messages"][-1] == {"role": "assistant", "content": "Hi"}
    assert "continue_final_message" not in second


def test_rejected_prefill_fields_name_the_way_out(server: FakeServer) -> None:
    detail = "Unexpected fields in the request: {'continue_final_message', 'add_generation_prompt'}"
    server.behaviour = lambda body, _: (422, {"detail": detail})
    with pytest.raises(ServerResponseError, match="mode='completions'") as info:
        OpenAIModel(server.url, "tiny").sample(Prompt(messages=PROMPT.messages, prefill="Hi"), 1, PARAMS)
    assert server.hits == 1 and "\n" not in str(info.value)


def test_stop_strings_cut_and_estimated_tokens(server: FakeServer) -> None:
    answer = {"choices": [{"index": 0, "message": {"content": "one two\n\nthree"}, "finish_reason": "stop"}]}
    server.behaviour = lambda body, _: (200, answer)
    batch = OpenAIModel(server.url, "tiny").sample(PROMPT, 1, PARAMS)
    assert batch.completions[0].text == "one two"
    assert batch.completions[0].tokens == 2 and batch.meta["token_counts"] == "estimated"


def test_constraint_is_ignored_with_one_warning(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    server.behaviour = lambda body, _: (200, openai_answer(body, 1))
    model = OpenAIModel(server.url, "tiny")
    constraint = LineConstraint(lines=("(pick-up a)",), end="[END]")
    with caplog.at_level(logging.WARNING, logger="llm_modulo.models.openai_http"):
        model.sample(PROMPT, 1, PARAMS, constraint)
        model.sample(PROMPT, 1, PARAMS, constraint)
    assert sum("constrained decoding" in r.getMessage() for r in caplog.records) == 1


# ----- failures -----


def test_two_500s_then_success_is_retried(server: FakeServer) -> None:
    server.behaviour = lambda body, count: (500, {"error": "busy"}) if count <= 2 else (200, openai_answer(body, 1))
    model = OpenAIModel(server.url, "tiny", max_retries=3, backoff=0.01)
    batch = model.sample(PROMPT, 1, PARAMS)
    assert batch.completions[0].text == "hello 0"
    assert server.hits == 3 and model.requests_sent == 3


def test_429_is_retried(server: FakeServer) -> None:
    slow_down = {"error": {"message": "slow down"}}
    server.behaviour = lambda body, count: (429, slow_down) if count == 1 else (200, openai_answer(body, 1))
    model = OpenAIModel(server.url, "tiny", backoff=0.01)
    assert len(model.sample(PROMPT, 1, PARAMS).completions) == 1 and server.hits == 2


def test_always_500_gives_up_after_bounded_attempts(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (500, {"error": {"message": "CUDA out of memory"}})
    timeout, attempts, backoff = 2.0, 3, 0.05
    model = OpenAIModel(server.url, "tiny", timeout=timeout, max_retries=attempts, backoff=backoff)
    started = time.monotonic()
    with pytest.raises(ServerResponseError) as info:
        model.sample(PROMPT, 1, PARAMS)
    elapsed = time.monotonic() - started
    assert server.hits == attempts
    assert elapsed < timeout * attempts + backoff * (2**attempts)
    message = str(info.value)
    assert "HTTP 500" in message and "CUDA out of memory" in message and "3 attempts" in message
    assert "\n" not in message


def test_other_4xx_is_not_retried(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (404, {"error": {"message": "model 'tiny' not found"}})
    with pytest.raises(ServerResponseError, match=r"HTTP 404: model 'tiny' not found"):
        OpenAIModel(server.url, "tiny", backoff=0.01).sample(PROMPT, 1, PARAMS)
    assert server.hits == 1


def test_malformed_json_is_a_response_error(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (200, b"<html>not json</html>")
    with pytest.raises(ServerResponseError, match="malformed JSON"):
        OpenAIModel(server.url, "tiny").sample(PROMPT, 1, PARAMS)
    assert server.hits == 1


def test_answer_without_choices_is_a_response_error(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (200, {"error": "model is loading"})
    with pytest.raises(ServerResponseError, match="without choices: model is loading"):
        OpenAIModel(server.url, "tiny").sample(PROMPT, 1, PARAMS)


def test_hanging_server_times_out_within_the_retry_budget(server: FakeServer) -> None:
    def hang(body: dict[str, Any], _: int) -> tuple[int, Any]:
        server.release.wait(30)
        return 200, openai_answer(body, 1)

    server.behaviour = hang
    timeout, attempts, backoff = 0.3, 2, 0.05
    model = OpenAIModel(server.url, "tiny", timeout=timeout, max_retries=attempts, backoff=backoff)
    started = time.monotonic()
    with pytest.raises(ServerUnreachableError, match=r"timed out after 0.3 s") as info:
        model.sample(PROMPT, 1, PARAMS)
    elapsed = time.monotonic() - started
    assert server.hits == attempts
    assert timeout * attempts <= elapsed < timeout * attempts + backoff + 2.0
    assert server.url in str(info.value)


def test_unreachable_port_fails_fast_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    model = OpenAIModel(url, "tiny", timeout=5, max_retries=3, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(ServerUnreachableError) as info:
        model.sample(PROMPT, 1, PARAMS)
    assert time.monotonic() - started < 2.0
    assert str(info.value) == f"cannot reach {url} after 3 attempts: connection refused"
    assert model.requests_sent == 3


# ----- construction and specs -----


@pytest.mark.parametrize(
    ("spec", "base_url", "model"),
    [
        (
            "openai:http://127.0.0.1:8000/v1/HuggingFaceTB/SmolLM2-135M-Instruct",
            "http://127.0.0.1:8000/v1",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        ("openai:https://api.openai.com/v1/gpt-4o-mini", "https://api.openai.com/v1", "gpt-4o-mini"),
        ("openai:http://localhost:11434/llama3.2:1b", "http://localhost:11434", "llama3.2:1b"),
        ("openai:http://host/proxy/v1/org/model/", "http://host/proxy/v1", "org/model"),
        ("openai:http://host:1/api/my-model", "http://host:1/api", "my-model"),
        ("openai:http://127.0.0.1:8000/v1//tmp/smollm2", "http://127.0.0.1:8000/v1", "/tmp/smollm2"),
    ],
)
def test_parse_model_spec(spec: str, base_url: str, model: str) -> None:
    assert parse_model_spec(spec) == (base_url, model)


@pytest.mark.parametrize(
    "spec",
    [
        "http://127.0.0.1:8000/v1/m",  # no prefix
        "openai:127.0.0.1:8000/v1/m",  # no scheme
        "openai:ftp://host/v1/m",
        "openai:http://127.0.0.1:8000/v1",  # no model
        "openai:http://127.0.0.1:8000/v1/",
        "openai:http://127.0.0.1:8000",
        "openai:http:///v1/m",  # no host
        "openai:http://host/v1/m?x=1",
    ],
)
def test_parse_model_spec_rejects_malformed(spec: str) -> None:
    with pytest.raises(InputError):
        parse_model_spec(spec)


def test_from_spec_and_bare_host() -> None:
    model = OpenAIModel.from_spec("openai:http://127.0.0.1:8000/v1/org/m", mode="completions")
    assert (model.base_url, model.model, model.mode) == ("http://127.0.0.1:8000/v1", "org/m", "completions")
    assert model.name == "openai:http://127.0.0.1:8000/v1/org/m"
    assert OpenAIModel("http://localhost:11434", "m").base_url == "http://localhost:11434/v1"
    with pytest.raises(InputError):
        OpenAIModel("localhost:11434", "m")
    with pytest.raises(InputError):
        OpenAIModel("http://h/v1", "m", max_retries=0)


# ----- deadlines -----


@dataclass
class RawServer:
    """A loopback TCP server that answers every connection the same bad way, for deadlines."""

    url: str
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def _raw_server(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[RawServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    state = RawServer(url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1")

    def serve() -> None:
        while not state.stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            state.connections += 1
            threading.Thread(target=answer, args=(conn, state.stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        thread.join(timeout=5)
        listener.close()


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then one byte of a body that never ends every 0.5 s."""
    with conn:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
            while not stop.wait(0.5):
                conn.sendall(b" ")
        except OSError:  # the client gave up
            pass


def _hang(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read the request, never answer."""
    with conn:
        stop.wait(60)


@pytest.fixture
def trickling() -> Iterator[RawServer]:
    yield from _raw_server(_trickle)


@pytest.fixture
def hanging() -> Iterator[RawServer]:
    yield from _raw_server(_hang)


@pytest.mark.parametrize("kind", ["trickling", "hanging"])
def test_a_request_ends_at_its_deadline_whatever_the_server_does(kind: str, request: pytest.FixtureRequest) -> None:
    server: RawServer = request.getfixturevalue(kind)
    model = OpenAIModel(server.url, "tiny", deadline=2)  # the phase timeout (60 s) never fires
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as info:
        model.sample(PROMPT, 1, PARAMS)
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 3.0, elapsed
    assert str(info.value) == f"{server.url}/chat/completions: no complete answer within the 2 s deadline per request"
    assert not isinstance(info.value, ServerUnreachableError)  # not fatal to a sweep: the trial is an error row


def test_retries_and_backoff_count_against_the_deadline(server: FakeServer) -> None:
    server.behaviour = lambda body, _: (500, {"error": {"message": "overloaded"}})
    model = OpenAIModel(server.url, "tiny", max_retries=50, backoff=0.2, deadline=1)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"1 s deadline per request \(\d+ attempts; the last failure: HTTP 500"):
        model.sample(PROMPT, 1, PARAMS)
    assert time.monotonic() - started < 1.5
    assert 2 <= server.hits < 6


def test_the_runs_seconds_stop_a_request_first(trickling: RawServer) -> None:
    model = OpenAIModel(trickling.url, "tiny")  # the default deadline: 300 s
    started = time.monotonic()
    with run_deadline(1.0), pytest.raises(BudgetSecondsExceeded, match="the run's seconds ran out"):
        model.sample(PROMPT, 1, PARAMS)
    assert time.monotonic() - started < 2.0


def test_a_strategy_out_of_seconds_is_exhausted_not_a_crash(hanging: RawServer, bw: Any) -> None:
    from llm_modulo.domains.blocksworld import SUSSMAN, domain_file
    from llm_modulo.registry import load_planning_task
    from llm_modulo.strategies.modulo import Modulo
    from llm_modulo.types import Budget, ResultStatus

    domain, task = load_planning_task(str(domain_file()), str(SUSSMAN))
    strategy = Modulo(OpenAIModel(hanging.url, "tiny"), domain, Budget(seconds=1), n=2, constrained="none")
    started = time.monotonic()
    result = strategy.run(task)
    assert time.monotonic() - started < 2.0
    assert result.status is ResultStatus.EXHAUSTED and not result.verified
    assert result.usage.samples == 0 and len(result.trace) == 1 and not result.trace[0].samples


def _solve(*args: str) -> tuple[int, str, float]:
    from llm_modulo.domains.blocksworld import SUSSMAN, domain_file

    command = [
        sys.executable,
        "-m",
        "llm_modulo.cli",
        "solve",
        "--domain",
        str(domain_file()),
        "--problem",
        str(SUSSMAN),
        "--constrained",
        "none",  # else stderr also warns that a constraint is ignored over HTTP
    ]
    started = time.monotonic()
    proc = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stderr, time.monotonic() - started


def test_solve_with_budget_seconds_stops_in_time(trickling: RawServer) -> None:
    # the budget ran out: "not verified" (exit 1), as for any spent budget, not an error
    code, err, seconds = _solve("--model", f"openai:{trickling.url}/tiny", "--budget", "seconds=2")
    assert code == 1, err
    assert "Traceback" not in err
    assert seconds < 15  # 2 s of budget plus the CLI's start-up


def test_solve_against_a_hung_server_is_one_line(hanging: RawServer) -> None:
    code, err, seconds = _solve("--model", f"openai:{hanging.url}/tiny?deadline=2")
    assert code == 2
    assert (
        err.strip() == f"error: {hanging.url}/chat/completions: no complete answer within the 2 s deadline per request"
    )
    assert seconds < 15


def test_spec_options_set_deadline_and_timeout() -> None:
    model = OpenAIModel.from_spec("openai:http://127.0.0.1:8000/v1/org/m?deadline=45&timeout=5")
    assert (model.model, model.deadline, model.timeout) == ("org/m", 45.0, 5.0)
    assert model.name == "openai:http://127.0.0.1:8000/v1/org/m"
    assert OpenAIModel("http://h/v1", "m").deadline == DEFAULT_DEADLINE_S == 300.0
    assert load_model("openai:http://h/v1/m?deadline=7").deadline == 7.0
    for bad in ("?deadline=0", "?deadline=inf", "?deadline=soon", "?retries=2", "?deadline"):
        with pytest.raises(InputError):
            OpenAIModel.from_spec(f"openai:http://h/v1/m{bad}")
    with pytest.raises(InputError):
        OpenAIModel("http://h/v1", "m", deadline=0)
