"""The OpenAI HTTP API on the wire: reading a response's choices and token counts, the text of a
server's error, a body read against a deadline, and the CLI's model spec, for
:class:`~llm_modulo.models.openai_http.OpenAIModel`."""

from __future__ import annotations

import json
import math
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from llm_modulo.errors import InputError, ServerResponseError
from llm_modulo.protocols import Completion

if TYPE_CHECKING:
    import httpx

SPEC_PREFIX = "openai:"
SPEC_OPTIONS = ("deadline", "timeout")  # what a spec's query string may set: seconds, above zero
MESSAGE_CHARS = 300
# Token-count provenance, from most to least exact.
TOKEN_COUNT_KINDS = ("usage", "usage-split", "estimated")


@dataclass
class Choices:
    """What one successful request produced."""

    completions: list[Completion]
    token_counts: str


class RetryableError(Exception):
    """One failed attempt that may succeed if tried again."""

    def __init__(
        self, cause: str, *, answered: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(cause)
        self.cause, self.answered, self.status, self.retry_after = cause, answered, status, retry_after


class PastDeadline(Exception):
    """A request's deadline passed before its answer was complete (turned into a ModelError by the caller)."""


def read_within(response: httpx.Response, deadline: float) -> httpx.Response:
    """A buffered copy of streamed ``response``, read chunk by chunk with ``deadline``
    (``time.monotonic()``) checked between chunks: a server trickling bytes keeps every single read
    short, so a per-read timeout alone would never fire. Raises :class:`PastDeadline`."""
    import httpx

    chunks = []
    for chunk in response.iter_bytes():
        if time.monotonic() >= deadline:
            raise PastDeadline
        chunks.append(chunk)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=response.request)


def shut(streamed: Any) -> None:
    """Shut the socket under a streamed response, so a read blocked on it returns at once."""
    try:
        sock = streamed.extensions["network_stream"].get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (KeyError, AttributeError, OSError):  # no socket (yet), or already closed
        pass


def parse_choices(data: Any, chat: bool, stop: tuple[str, ...], url: str) -> Choices:
    """Completions out of a response body (``chat``: a chat-completions one), or :class:`ServerResponseError`."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        detail = error_text(data) if isinstance(data, dict) else None
        raise ServerResponseError(f"{url} answered without choices: {detail or one_line(json.dumps(data))}")
    texts: list[tuple[str, str]] = []
    for choice in sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0):
        if not isinstance(choice, dict):
            raise ServerResponseError(f"{url} answered a malformed choice: {one_line(json.dumps(choice))}")
        if chat:
            message = choice.get("message")
            text = message.get("content") if isinstance(message, dict) else None
        else:
            text = choice.get("text")
        if text is not None and not isinstance(text, str):
            raise ServerResponseError(f"{url} answered a non-text completion: {one_line(json.dumps(choice))}")
        finish = choice.get("finish_reason") or "stop"
        texts.append((cut_at_stop(text or "", stop), str(finish)))

    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt_tokens = as_int(usage.get("prompt_tokens")) or 0
    total = as_int(usage.get("completion_tokens"))
    if total is not None:
        kind = "usage" if len(texts) == 1 else "usage-split"
        share, extra = divmod(total, len(texts))
        counts = [share + (1 if i < extra else 0) for i in range(len(texts))]
    else:
        kind = "estimated"
        counts = [math.ceil(len(text) / 4) for text, _ in texts]
    return Choices(
        completions=[
            Completion(text=text, tokens=count, prompt_tokens=prompt_tokens, finish_reason=finish)
            for (text, finish), count in zip(texts, counts, strict=False)
        ],
        token_counts=kind,
    )


def parse_model_spec(spec: str) -> tuple[str, str]:
    """Split a CLI spec ``openai:<base-url>/<model>`` into ``(base_url, model)``.

    The base URL ends at the first path segment that is exactly ``v1``; everything after it is the
    model name, which may itself contain slashes (``.../v1//abs/path`` names the model ``/abs/path``,
    as ``transformers serve`` wants for a local folder). Without a ``v1`` segment the last path segment is
    the model and the rest is the base URL. Examples::

        openai:http://127.0.0.1:8000/v1/HuggingFaceTB/SmolLM2-135M-Instruct
            -> ("http://127.0.0.1:8000/v1", "HuggingFaceTB/SmolLM2-135M-Instruct")
        openai:http://localhost:11434/llama3.2:1b
            -> ("http://localhost:11434", "llama3.2:1b")   # OpenAIModel appends /v1 to a bare host

    A query string sets options (:func:`spec_options`), not part of the model name.
    Raises :class:`InputError` for anything else.
    """
    if not spec.startswith(SPEC_PREFIX):
        raise InputError(f"model spec {spec!r} does not start with {SPEC_PREFIX!r}")
    url = spec[len(SPEC_PREFIX) :]
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InputError(f"model spec {spec!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"model spec {spec!r}: expected {SPEC_PREFIX}http(s)://host[:port][/v1]/<model>")
    if parts.fragment:
        raise InputError(f"model spec {spec!r}: a fragment is not allowed")
    spec_options(spec)  # a query string holds only known options (read by OpenAIModel.from_spec)
    segments = parts.path.split("/")
    if "v1" in segments:
        cut = segments.index("v1") + 1
        base_segments, model = segments[:cut], "/".join(segments[cut:]).rstrip("/")
    else:
        segments = [s for s in segments if s]
        base_segments, model = segments[:-1], "/".join(segments[-1:])
    if not model:
        raise InputError(f"model spec {spec!r} names no model after the base URL")
    base_url = f"{parts.scheme}://{parts.netloc}" + "".join("/" + s for s in base_segments if s)
    return base_url, model


def spec_options(spec: str) -> dict[str, float]:
    """The options in a spec's query string: ``openai:http://host:8000/v1/<model>?deadline=60&timeout=20``
    (seconds; see :class:`~llm_modulo.models.openai_http.OpenAIModel`). Anything else is an InputError."""
    query = urlsplit(spec[len(SPEC_PREFIX) :]).query
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise InputError(f"model spec {spec!r}: malformed query string {query!r}") from None
    options: dict[str, float] = {}
    for key, value in pairs:
        if key not in SPEC_OPTIONS:
            raise InputError(f"model spec {spec!r}: unknown option {key!r}; known: {', '.join(SPEC_OPTIONS)}")
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        if not 0 < seconds < math.inf:
            raise InputError(f"model spec {spec!r}: {key} must be a number of seconds above zero, got {value!r}")
        options[key] = seconds
    return options


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_text(data: dict[str, Any]) -> str | None:
    """The message of an OpenAI (``error.message``), FastAPI (``detail``) or plain (``error``) error body."""
    for key in ("error", "detail", "message"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("detail") or json.dumps(value)
        if value:
            return one_line(value if isinstance(value, str) else json.dumps(value))
    return None


def server_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return one_line(response.text) or response.reason_phrase or "(empty body)"
    text = error_text(data) if isinstance(data, dict) else None
    return text or one_line(json.dumps(data))


def retry_after_seconds(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def transport_cause(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "unknown host"
    if "reset" in text:
        return "connection reset"
    return one_line(str(exc)) or type(exc).__name__


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return text if cut < 0 else text[:cut]


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


__all__ = [
    "SPEC_PREFIX",
    "TOKEN_COUNT_KINDS",
    "Choices",
    "PastDeadline",
    "RetryableError",
    "parse_choices",
    "parse_model_spec",
    "read_within",
    "shut",
    "spec_options",
]
