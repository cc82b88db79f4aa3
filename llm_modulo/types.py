"""Core records of the generate-test-critique loop.

Everything a run produces is a pydantic model, so a trace serialises to JSON as-is and a
result reads back from a store without loss.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VerdictStatus(str, Enum):
    """Three-valued outcome of one critic on one candidate."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"  # the critic timed out or could not decide


class FeedbackLevel(str, Enum):
    """How much of the critics' findings goes back into the prompt."""

    NONE = "none"  # "try again", nothing else
    BINARY = "binary"  # "the plan is invalid"
    FIRST = "first"  # the first error
    ALL = "all"  # every error


class ResultStatus(str, Enum):
    VERIFIED = "verified"  # every hard critic said VALID
    EXHAUSTED = "exhausted"  # the budget ran out before a candidate was certified
    FAILED = "failed"  # the strategy ended on an answer the critics did not certify
    NO_SOLUTION = "no_solution"  # a hard critic proved that the task has no answer (its proof is the certificate)


class Task(BaseModel):
    """One problem instance. ``payload`` is the domain's own parsed problem."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    domain: str
    payload: Any = Field(default=None, exclude=True)
    meta: dict[str, Any] = Field(default_factory=dict)


class Candidate(BaseModel):
    """What one completion parsed into, plus the raw text it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str
    answer: Any = None  # the domain's parsed answer (e.g. a list of ground actions); None = unparseable
    parse_errors: list[str] = Field(default_factory=list)


class ViolationKind(str, Enum):
    """The kinds of fault the core knows. ``Violation.kind`` is a plain string: a domain or critic
    may use its own kinds beside these (e.g. ``"double_booked"``); the core only acts on
    ``no_solution`` (a refutation) and ``parse_error`` (no answer could be read), and the feedback
    policy orders faults by ``Violation.step``, not by kind."""

    PARSE_ERROR = "parse_error"  # the completion could not be read as an answer
    UNKNOWN_ACTION = "unknown_action"  # a step names an action the task does not have
    UNKNOWN_OBJECT = "unknown_object"  # a step names an object the task does not have
    WRONG_ARITY = "wrong_arity"  # a step has too many or too few arguments
    WRONG_TYPE = "wrong_type"  # an argument of the wrong type
    INAPPLICABLE = "inapplicable"  # a step whose precondition does not hold
    UNMET_GOAL = "unmet_goal"  # the answer ends without reaching the goal
    WRONG_ANSWER = "wrong_answer"  # a value or output differs from the expected one
    RUNTIME_ERROR = "runtime_error"  # executing the answer failed
    TIMEOUT = "timeout"  # a check ran out of time
    UNDECIDED = "undecided"  # a solver could not decide a constraint
    SUBOPTIMAL = "suboptimal"  # a soft finding: valid, but worse than a known answer
    NO_SOLUTION = "no_solution"  # a proof that the task has no answer at all


class Violation(BaseModel):
    """One thing a critic found wrong, as data. Messages are rendered at the edge."""

    kind: str  # a ViolationKind value, or a kind of the domain's own
    step: int | None = None  # 1-based index of the offending step, where there is one
    detail: dict[str, Any] = Field(default_factory=dict)
    message: str = ""


class Progress(BaseModel):
    """How far a sequential answer got under a critic: the part it found no fault in.

    ``valid`` steps ran before the first fault; ``best`` <= ``valid`` is where the answer came
    closest to the goal (the loop may continue from there); ``length`` is the whole answer's.
    """

    valid: int
    best: int
    length: int


_PROGRESS_KEYS = {"valid_prefix_len": "valid", "best_prefix_len": "best", "plan_len": "length"}


class Verdict(BaseModel):
    status: VerdictStatus
    critic: str
    hard: bool = True
    violations: list[Violation] = Field(default_factory=list)
    score: float = 0.0  # progress in [0, 1] for ranking invalid candidates; 1.0 only if VALID
    engine: str = ""  # which implementation decided (e.g. "grounded-strips", "unified-planning")
    seconds: float = 0.0
    progress: Progress | None = None  # for answers made of steps: how far the answer got
    info: dict[str, Any] = Field(default_factory=dict)  # critic-specific figures

    @model_validator(mode="before")
    @classmethod
    def _progress_from_info(cls, data: Any) -> Any:
        """Verdicts stored before ``progress`` existed kept it in ``info``: read it from there."""
        if isinstance(data, dict) and data.get("progress") is None:
            info = data.get("info") or {}
            if all(key in info for key in _PROGRESS_KEYS):
                data = {**data, "progress": {field: info[key] for key, field in _PROGRESS_KEYS.items()}}
        return data

    @property
    def valid(self) -> bool:
        return self.status is VerdictStatus.VALID


class Budget(BaseModel):
    """Whichever limit runs out first ends the run. ``None`` means unlimited.

    Every limit given is at least one (seconds: above zero, finite); an unknown field is an error,
    so a typo (``round=3``) never leaves a run unlimited."""

    model_config = ConfigDict(extra="forbid")

    rounds: int | None = Field(default=10, ge=1)
    samples: int | None = Field(default=64, ge=1)
    tokens: int | None = Field(default=None, ge=1)
    seconds: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    nodes: int | None = Field(default=None, ge=1)  # search expansions (one batched scoring call each)


class Usage(BaseModel):
    rounds: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    llm_calls: int = 0
    nodes: int = 0  # search expansions
    scored_tokens: int = 0  # continuation tokens scored (not generated) by ranking calls
    truncated: int = 0  # samples the token cap stopped (finish reason "length"): maybe cut-off answers
    seconds: float = 0.0


class Sample(BaseModel):
    """One completion, what it parsed into, and what the critics said."""

    completion: str
    tokens: int
    candidate: Candidate
    verdicts: list[Verdict]

    @property
    def certified(self) -> bool:
        return certified(self.verdicts)


class Attempt(BaseModel):
    """One LLM call: the prompt, its n completions and their verdicts."""

    round: int
    prompt: str
    prefill: str = ""
    samples: list[Sample]
    seconds: float = 0.0
    info: dict[str, Any] = Field(default_factory=dict)  # e.g. a search node's scored children


class Result(BaseModel):
    """The one result type every strategy returns."""

    task_id: str
    domain: str
    strategy: str
    status: ResultStatus
    answer: Any = None
    answer_text: str = ""
    certificate: list[Verdict] = Field(default_factory=list)  # the hard critics' verdicts on ``answer``
    chosen: tuple[int, int] | None = None  # (attempt, sample) in ``trace`` that ``answer`` came from, if one did
    trace: list[Attempt] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    config: dict[str, Any] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict)  # strategy-specific figures (e.g. self-judged "valid")

    @property
    def verified(self) -> bool:
        return self.status is ResultStatus.VERIFIED


def certified(verdicts: list[Verdict]) -> bool:
    """True only if there is at least one hard critic and every hard critic said VALID."""
    hard = [v for v in verdicts if v.hard]
    return bool(hard) and all(v.status is VerdictStatus.VALID for v in hard)
