"""A language model behind an OpenAI-compatible HTTP server.

Works with vLLM, SGLang, llama.cpp's server, Ollama, OpenAI and ``transformers serve``: anything that
answers ``POST {base_url}/chat/completions`` or ``POST {base_url}/completions`` the OpenAI way.

Behaviour worth knowing:

- **n samples.** ``n`` is sent in the request. Servers that ignore it (``transformers serve``,
  llama.cpp, Ollama) answer with fewer choices; the missing completions are then drawn with further
  requests, sent concurrently (at most ``max_concurrency`` at a time). With a ``seed``, the i-th request
  of one ``sample`` call (counting from 0) carries ``seed + i``, so the extra requests do not repeat
  the first one's completions and a call stays reproducible.
- **Token counts.** ``usage.completion_tokens`` is exact when a response has one choice; a response
  with several choices reports one total, which is split evenly across them. A server that reports
  no usage gets an estimate of one token per four characters. ``Batch.meta["token_counts"]`` says
  which: ``"usage"``, ``"usage-split"`` or ``"estimated"`` (the least exact one seen in the call).
- **Stop strings.** A completion is cut at the first stop string it contains: OpenAI semantics,
  which some servers (``transformers serve``) do not apply themselves.
- **Prefill.** In completions mode the prefill ends the plain rendering of the prompt. In chat
  mode it becomes a final assistant message, and (with ``continue_final_message=True``, the default)
  the body carries vLLM's and SGLang's ``continue_final_message: true, add_generation_prompt: false``
  so that the server continues it. Servers that reject those fields (OpenAI, ``transformers serve``)
  raise a :class:`ServerResponseError` saying so; use ``mode="completions"`` there, or
  ``continue_final_message=False`` for servers that continue a final assistant message on their own
  (Ollama, llama.cpp).
- **Constraints.** Constrained decoding is not available over HTTP: a ``constraint`` is ignored,
  with one warning per model instance.
- **Retries.** Connection errors, timeouts, 429 and 5xx answers are retried, ``max_retries``
  attempts in all, with exponential backoff (``backoff``, ``2 * backoff``, ... seconds; a 429's
  ``Retry-After`` is honoured up to 60 s). Other 4xx answers are not retried. ``timeout`` bounds each
  network phase of one attempt (connect, each read, write). Out of attempts, a server that never
  answered raises :class:`ServerUnreachableError`; one that kept answering with an error raises
  :class:`ServerResponseError`.
- **Deadlines.** ``deadline`` (default 300 s; ``?deadline=60`` in a CLI spec) bounds a whole request,
  its retries and backoff included, whatever the server does (trickling bytes, hanging after the
  headers, slow connect): past it the call raises :class:`DeadlineExceeded`. Inside a run with
  ``Budget(seconds=...)`` a request also stops when the run's seconds end
  (:func:`~llm_modulo.budget.budget_deadline`), raising :class:`BudgetSecondsExceeded`, which the
  strategy turns into an ``exhausted`` result.
- **transformers serve** samples only when the served model's ``generation_config`` says
  ``do_sample: true``; otherwise it decodes greedily whatever the temperature (SmolLM2's does not),
  so all n completions come out the same. Pass ``extra_body=TRANSFORMERS_SERVE_SAMPLING`` to make
  it sample (a temperature of 0 still decodes greedily). It also applies a request's ``seed``
  process-wide, so concurrent requests make seeded results depend on their order: use
  ``max_concurrency=1`` where a run must be reproducible.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from llm_modulo.budget import budget_deadline
from llm_modulo.errors import (
    BudgetSecondsExceeded,
    DeadlineExceeded,
    InputError,
    ServerResponseError,
    ServerUnreachableError,
)
from llm_modulo.models._openai_wire import (
    SPEC_PREFIX,
    TOKEN_COUNT_KINDS,
    Choices,
    PastDeadline,
    RetryableError,
    one_line,
    parse_choices,
    parse_model_spec,
    read_within,
    retry_after_seconds,
    server_message,
    shut,
    spec_options,
    transport_cause,
)
from llm_modulo.protocols import Batch, Completion, LineConstraint, Prompt, SamplingParams

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

Mode = Literal["chat", "completions"]
DEFAULT_DEADLINE_S = 300.0
_RETRY_AFTER_CAP_S = 60.0
_GRACE_S = 0.2  # past a deadline, how long the caller still waits for the attempt's own ending
# transformers serve's own request field: a generation config that turns sampling on.
TRANSFORMERS_SERVE_SAMPLING: Mapping[str, Any] = MappingProxyType(
    {"generation_config": json.dumps({"do_sample": True})}
)
_TIMEOUT_PHASES = {"ConnectTimeout": "connecting", "WriteTimeout": "sending", "PoolTimeout": "waiting for a connection"}


class OpenAIModel:
    """A :class:`~llm_modulo.protocols.LanguageModel` served over the OpenAI HTTP API.

    Args:
        base_url: the API root, version prefix included (``http://host:8000/v1``); a URL with no
            path at all gets ``/v1`` appended.
        model: the ``model`` field of each request.
        api_key: sent as a bearer token; defaults to ``$OPENAI_API_KEY``, else ``"none"``.
        mode: ``"chat"`` posts ``/chat/completions`` with the messages; ``"completions"`` posts
            ``/completions`` with :meth:`Prompt.render_plain`.
        timeout: seconds allowed for each network phase (connect, each read, write) of one attempt.
        deadline: seconds allowed for a whole request, its retries and backoff included.
        max_retries: attempts per request in all, the first included (1 means no retry).
        backoff: seconds before the first retry, doubled before each next one.
        continue_final_message: in chat mode with a prefill, send vLLM's continuation fields.
        max_concurrency: most requests in flight at once when topping up ``n``.
        extra_body: further fields merged into every request body (server-specific options).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        mode: Mode = "chat",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        *,
        continue_final_message: bool = True,
        max_concurrency: int = 8,
        extra_body: Mapping[str, Any] | None = None,
        deadline: float = DEFAULT_DEADLINE_S,
    ) -> None:
        if mode not in ("chat", "completions"):
            raise InputError(f"unknown mode {mode!r}; known: chat, completions")
        if max_retries < 1:
            raise InputError(f"max_retries must be at least 1, got {max_retries}")
        if not (timeout > 0 and deadline > 0) or backoff < 0 or max_concurrency < 1:
            raise InputError(
                "timeout and deadline must be positive, backoff non-negative and max_concurrency at least 1"
            )
        try:
            parts = urlsplit(base_url)
        except ValueError as exc:
            raise InputError(f"base URL {base_url!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"base URL {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/") if parts.path.strip("/") else f"{parts.scheme}://{parts.netloc}/v1"
        self.model = model
        self.mode: Mode = mode
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.continue_final_message = continue_final_message
        self.max_concurrency = int(max_concurrency)
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        self.name = f"{SPEC_PREFIX}{self.base_url}/{model}"
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "none")
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._warned_constraint = False
        self.requests_sent = 0  # HTTP attempts made over this instance's life (retries included)

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> OpenAIModel:
        """Build a model from a CLI spec ``openai:<base-url>/<model>[?deadline=S&timeout=S]`` (see
        :func:`parse_model_spec`); ``kwargs`` win over the spec's options."""
        base_url, model = parse_model_spec(spec)
        return cls(base_url, model, **{**spec_options(spec), **kwargs})

    def __repr__(self) -> str:
        return f"OpenAIModel({self.base_url!r}, {self.model!r}, mode={self.mode!r})"

    # ----- lifecycle -----

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout),
                    headers={"Authorization": f"Bearer {self._api_key}"},
                    limits=httpx.Limits(max_connections=self.max_concurrency),
                )
            return self._client

    def close(self) -> None:
        """Close the connection pool; the model reopens one if used again."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> OpenAIModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- the protocol -----

    def sample(
        self,
        prompt: Prompt,
        n: int,
        params: SamplingParams,
        constraint: LineConstraint | None = None,
    ) -> Batch:
        """Draw ``n`` completions of ``prompt``; see the module docstring for how ``n`` is honoured."""
        if n < 1:
            raise InputError(f"n must be at least 1, got {n}")
        if constraint is not None and not self._warned_constraint:
            self._warned_constraint = True
            logger.warning("%s: constrained decoding is not supported over HTTP; the constraint is ignored", self.name)
        started = time.perf_counter()
        budget_end = budget_deadline()  # read here: the top-up threads do not see this thread's context
        completions: list[Completion] = []
        kinds: list[str] = []
        requests = 0

        first = self._request(prompt, n, params, requests, budget_end)
        requests += 1
        completions += first.completions
        kinds.append(first.token_counts)
        per_request = max(1, min(len(first.completions), n))
        if len(completions) < n:
            logger.debug("%s: asked for n=%d, got %d choices; topping up", self.name, n, len(completions))
        while len(completions) < n:
            remaining = n - len(completions)
            full, rest = divmod(remaining, per_request)
            asks = [per_request] * full + ([rest] if rest else [])
            indices = range(requests, requests + len(asks))
            requests += len(asks)
            if len(asks) == 1:
                results = [self._request(prompt, asks[0], params, indices[0], budget_end)]
            else:
                with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(asks))) as pool:
                    results = list(
                        pool.map(
                            lambda a: self._request(prompt, a[0], params, a[1], budget_end),
                            zip(asks, indices, strict=False),
                        )
                    )
            for result in results:
                completions += result.completions
                kinds.append(result.token_counts)

        kind = max(kinds, key=TOKEN_COUNT_KINDS.index)
        return Batch(
            completions=completions[:n],
            seconds=time.perf_counter() - started,
            meta={"requests": requests, "token_counts": kind, "endpoint": self._endpoint(), "model": self.model},
        )

    # ----- one request -----

    def _endpoint(self) -> str:
        return f"{self.base_url}/{'chat/completions' if self.mode == 'chat' else 'completions'}"

    def _body(self, prompt: Prompt, n: int, params: SamplingParams, index: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model}
        if self.mode == "chat":
            messages = [dict(m) for m in prompt.messages]
            if prompt.prefill:
                messages.append({"role": "assistant", "content": prompt.prefill})
                if self.continue_final_message:
                    body["continue_final_message"] = True
                    body["add_generation_prompt"] = False
            body["messages"] = messages
        else:
            body["prompt"] = prompt.render_plain()
        body.update(n=n, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens)
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed + index
        body.update(self.extra_body)
        return body

    def _request(
        self, prompt: Prompt, n: int, params: SamplingParams, index: int, budget_end: float | None = None
    ) -> Choices:
        """Post one request with bounded retries, all within the deadline, and parse its choices."""
        body = self._body(prompt, n, params, index)
        url = self._endpoint()
        own_end = time.monotonic() + self.deadline
        end = own_end if budget_end is None else min(own_end, budget_end)
        last: RetryableError | None = None
        for attempt in range(1, self.max_retries + 1):
            if attempt > 1:
                delay = self.backoff * 2 ** (attempt - 2)
                if last is not None and last.retry_after is not None:
                    delay = max(delay, min(last.retry_after, _RETRY_AFTER_CAP_S))
                time.sleep(max(0.0, min(delay, end - time.monotonic())))
            try:
                if time.monotonic() >= end:
                    raise PastDeadline
                data = self._post_within(url, body, end)
            except RetryableError as err:
                last = err
                logger.warning("%s: attempt %d/%d failed: %s", self.base_url, attempt, self.max_retries, err.cause)
                continue
            except PastDeadline:
                cause = f" ({attempt} attempts; the last failure: {last.cause})" if last is not None else ""
                if budget_end is not None and budget_end <= own_end:
                    raise BudgetSecondsExceeded(
                        f"{url}: the run's seconds ran out waiting for an answer{cause}"
                    ) from None
                raise DeadlineExceeded(
                    f"{url}: no complete answer within the {self.deadline:g} s deadline per request{cause}"
                ) from None
            return parse_choices(data, self.mode == "chat", params.stop, url)
        assert last is not None
        if last.answered:
            raise ServerResponseError(f"{url} kept failing after {self.max_retries} attempts: {last.cause}")
        raise ServerUnreachableError(f"cannot reach {self.base_url} after {self.max_retries} attempts: {last.cause}")

    def _post_within(self, url: str, body: dict[str, Any], end: float) -> Any:
        """One attempt (:meth:`_post`) in a daemon thread that this one stops waiting for at ``end``:
        whatever the attempt is stuck in (a name lookup, a silent socket), the caller is free at the
        deadline; the attempt's socket is shut then, so the thread ends soon after."""
        outcome: list[tuple[bool, Any]] = []
        streams: list[Any] = []
        done = threading.Event()

        def attempt() -> None:
            try:
                outcome.append((True, self._post(url, body, end, streams)))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=attempt, name="llm-modulo-http", daemon=True).start()
        if not done.wait(max(0.0, end - time.monotonic()) + _GRACE_S):
            for streamed in streams:
                shut(streamed)
            raise PastDeadline
        ok, value = outcome[0]
        if ok:
            return value
        raise value

    def _post(self, url: str, body: dict[str, Any], end: float, streams: list[Any]) -> Any:
        """One attempt: the decoded JSON, a :class:`RetryableError`, :class:`PastDeadline`, or a terminal error."""
        import httpx

        with self._lock:
            self.requests_sent += 1
        left = end - time.monotonic()
        try:
            with self._http().stream("POST", url, json=body, timeout=min(self.timeout, max(left, 0.001))) as streamed:
                streams.append(streamed)
                response = read_within(streamed, end)
        except httpx.TimeoutException as exc:
            if left <= self.timeout:  # the time left, not the phase timeout, ran out
                raise PastDeadline from exc
            doing = _TIMEOUT_PHASES.get(type(exc).__name__, "waiting for an answer")
            raise RetryableError(f"timed out after {self.timeout:g} s {doing}", answered=False) from exc
        except httpx.TransportError as exc:  # connect errors, resets, protocol errors
            if time.monotonic() >= end:  # e.g. the socket shut at the deadline
                raise PastDeadline from exc
            raise RetryableError(transport_cause(exc), answered=False) from exc

        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableError(
                f"HTTP {status}: {server_message(response)}",
                answered=True,
                status=status,
                retry_after=retry_after_seconds(response),
            )
        if status >= 400:
            message = server_message(response)
            hint = ""
            if "continue_final_message" in message or "add_generation_prompt" in message:
                hint = (
                    " (this server cannot continue an assistant prefill: use mode='completions', or"
                    " continue_final_message=False if it continues a final assistant message by itself)"
                )
            raise ServerResponseError(f"{url} answered HTTP {status}: {message}{hint}")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ServerResponseError(
                f"{url} answered HTTP {status} with malformed JSON: {one_line(response.text)!r}"
            ) from exc


__all__ = ["DEFAULT_DEADLINE_S", "TRANSFORMERS_SERVE_SAMPLING", "OpenAIModel", "parse_model_spec", "spec_options"]
