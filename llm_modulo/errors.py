"""A typed error tree. Each error prints itself as one clear line for the CLI.

A bad *candidate* is never an exception (it is an INVALID verdict); these are for bad input,
misuse, and broken tools.
"""

from __future__ import annotations


class LLMModuloError(Exception):
    """Base of every error the framework raises on purpose."""

    def format_message(self) -> str:
        return str(self)


class InputError(LLMModuloError):
    """The user gave something unusable: a missing file, malformed PDDL, an unknown name."""


class OptionError(InputError, ValueError):
    """A strategy or sweep option with a bad value, or one the strategy does not have."""


class UnknownNameError(InputError):
    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(self.known) or '(none)'}")


class PDDLError(InputError):
    """A PDDL file could not be read or uses a feature the reader does not support."""


class UnsupportedFeatureError(LLMModuloError):
    """A critic cannot decide this task (e.g. a PDDL feature outside STRIPS)."""


class ModelError(LLMModuloError):
    """A language-model backend failed."""


class DecodeInterrupted(ModelError):
    """A decode was stopped before its end (a sweep stopping with trials in flight)."""


class DeadlineExceeded(ModelError):
    """A model call ran past its deadline: an HTTP request's own total deadline (retries included)."""


class BudgetSecondsExceeded(DeadlineExceeded):
    """The run's ``Budget(seconds=...)`` ran out during a model call; a strategy catches it and ends
    the run with what it has (status ``exhausted``)."""


class ModelLoadError(ModelError):
    """The model could not be found or loaded."""


class ServerUnreachableError(ModelError):
    """An HTTP inference server did not answer within the configured timeout and retries."""


class ServerResponseError(ModelError):
    """An HTTP inference server answered with an error or malformed body."""


class CriticError(LLMModuloError):
    """A critic itself broke (terminal: stop the run), as opposed to rejecting a candidate."""
