"""The OpenAI HTTP API on the wire: reading a response's choices and token counts, and the text of
a server's error, for :class:`~llm_modulo.models.openai_http.OpenAIModel`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_modulo.errors import ServerResponseError
from llm_modulo.protocols import Completion

if TYPE_CHECKING:
    import httpx

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


__all__ = ["TOKEN_COUNT_KINDS", "Choices", "RetryableError", "parse_choices"]
