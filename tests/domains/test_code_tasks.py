"""The code-tasks domain: instances, prompts, parsing, critiques, the fixture corpus, strategies end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llm_modulo.domains.code import code_tasks
from llm_modulo.domains.code.grammar import return_lines
from llm_modulo.errors import InputError
from llm_modulo.feedback import domain_critique
from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.models.scripted import ScriptedModel
from llm_modulo.protocols import SamplingParams
from llm_modulo.strategies.best_of_n import BestOfN
from llm_modulo.types import Budget, FeedbackLevel, ResultStatus, VerdictStatus, certified
from llm_modulo.verifiers.code import SandboxLimits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "code" / "solutions.yaml"
CORPUS = yaml.safe_load(FIXTURES.read_text())
LIMITS = SandboxLimits(wall_seconds=2.0, cpu_seconds=2.0, memory_mb=256)


@pytest.fixture(scope="module")
def domain():
    return code_tasks(limits=LIMITS)


def _check(domain, task, text):
    candidate = domain.parse(task, text)
    return candidate, [c.check(task, candidate) for c in domain.critics(task)]


def _fenced(code: str) -> str:
    return f"```python\n{code}```"


# -- instances ------------------------------------------------------------------------------------
def test_instances_and_load(domain):
    names = domain.instances("all")
    assert 15 <= len(names) <= 30 and len(set(names)) == len(names)
    assert sorted(domain.instances("easy") + domain.instances("hard")) == sorted(names)
    task = domain.load("merge_intervals")
    assert task.domain == "code" and task.id == "merge_intervals" and task.meta["difficulty"] == "hard"
    assert len(task.payload.suite.cases) >= 5
    with pytest.raises(InputError, match="unknown code task 'nope'"):
        domain.load("nope")
    with pytest.raises(InputError, match="unknown code task set"):
        domain.instances("medium")


def test_factory_options():
    assert code_tasks(wall_seconds=1.5).sandbox.limits.wall_seconds == 1.5
    assert len(code_tasks(style_critic=False).critics(code_tasks().load("clamp"))) == 1
    from llm_modulo.registry import get_domain

    with pytest.raises(InputError, match="colour"):
        get_domain("code", colour="blue")


def test_every_task_has_examples_edge_cases_and_a_signature(domain):
    for name in domain.instances("all"):
        spec = domain.load(name).payload
        assert 1 <= len(spec.examples) <= 2 and len(spec.suite.cases) >= 5, name
        assert spec.signature.startswith(f"def {name}(")
        assert not set(map(repr, spec.examples)) & set(map(repr, spec.suite.cases)), (
            name
        )  # examples are not the hidden tests


# -- prompts and parsing -------------------------------------------------------------------------
def test_prompt_shows_signature_docstring_and_examples(domain):
    task = domain.load("clamp")
    prompt = domain.prompt(task)
    text = prompt.messages[0]["content"]
    assert "def clamp(value: int, low: int, high: int) -> int:" in text
    assert ">>> clamp(15, 0, 10)\n    10" in text and "```python" in text
    assert "clamp(5, 0, 10)" not in text and "clamp(11, 0, 10)" not in text  # hidden tests stay hidden
    assert prompt.prefill == "```python\n"


@pytest.mark.parametrize(
    "text",
    [
        "```python\ndef list_total(values):\n    return sum(values)\n```",
        "Here is my answer:\n```python\ndef list_total(values):\n    return sum(values)\n```\nIt sums the list.",
        "```python\ndef list_total(values):\n    return sum(values)\n",  # no closing fence
        "def list_total(values):\n    return sum(values)\n\nThis works because sum adds them.",  # no fences, prose after
        "Sure! The idea is simple.\n\ndef list_total(values):\n    return sum(values)",  # prose before
        "```python\nI will use sum.\n```python\ndef list_total(values):\n    return sum(values)\n```",  # prose in the prefill's block
    ],
)
def test_parse_is_tolerant(domain, text):
    task = domain.load("list_total")
    candidate, verdicts = _check(domain, task, text)
    assert candidate.answer.strip() == "def list_total(values):\n    return sum(values)"
    assert certified(verdicts)


def test_parse_without_code(domain):
    task = domain.load("list_total")
    candidate, verdicts = _check(domain, task, "I do not know how to do this.")
    assert candidate.answer is None and not certified(verdicts)
    assert verdicts[0].violations[0].kind == "parse_error"


# -- the fixture corpus --------------------------------------------------------------------------
def test_the_corpus_covers_every_task(domain):
    assert set(CORPUS) == set(domain.instances("all"))
    for name, labelled in CORPUS.items():
        assert len(labelled["valid"]) >= 1 and len(labelled["invalid"]) >= 2, name


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_verdicts_match_labels_and_the_reference_check(domain, name):
    task = domain.load(name)
    ok, engine = domain.reference_check(task, task.payload.reference)
    assert ok and "reference" in engine
    for label in ("valid", "invalid"):
        for code in CORPUS[name][label]:
            candidate, verdicts = _check(domain, task, _fenced(code))
            hard = [v for v in verdicts if v.hard]
            assert certified(verdicts) is (label == "valid"), (name, label, code, [v.violations for v in hard])
            ref_ok, _ = domain.reference_check(task, candidate.answer)
            assert ref_ok is (label == "valid"), (name, label, code)
            if label == "invalid":
                assert hard[0].violations and 0.0 <= hard[0].score < 1.0


# -- critiques -----------------------------------------------------------------------------------
def test_critique_levels(domain):
    task = domain.load("list_total")
    wrong = _fenced("def list_total(values):\n    if values:\n        return sum(values)\n")
    candidate, verdicts = _check(domain, task, wrong)
    assert domain_critique(domain, task, candidate, verdicts, FeedbackLevel.NONE) == "Please try again."
    assert (
        domain_critique(domain, task, candidate, verdicts, FeedbackLevel.BINARY) == "The code does not pass the tests."
    )
    first = domain_critique(domain, task, candidate, verdicts, FeedbackLevel.FIRST)
    assert first.startswith(
        "The code does not pass the tests. Test 1 failed: list_total([]) returned None, expected 0."
    )
    everything = domain_critique(domain, task, candidate, verdicts, FeedbackLevel.ALL)
    assert "Test 1 failed: list_total([]) returned None, expected 0." in everything
    assert "Advice: function 'list_total' has no docstring." in everything


def test_critique_for_exceptions_and_timeouts():
    domain = code_tasks(wall_seconds=1.0, cpu_seconds=10.0, style_critic=False)
    task = domain.load("spread")
    candidate, verdicts = _check(
        domain, task, _fenced("def spread(numbers):\n    return max(numbers) - min(numbers)\n")
    )
    assert domain_critique(domain, task, candidate, verdicts, FeedbackLevel.FIRST) == (
        "The code does not pass the tests. Test 1 failed: spread([]) raised ValueError: max() arg is an empty sequence (line 2)."
    )
    candidate, verdicts = _check(domain, task, _fenced("def spread(numbers):\n    while True:\n        pass\n"))
    assert "Test 1 (spread([])) timed out after 1 s" in domain_critique(
        domain, task, candidate, verdicts, FeedbackLevel.FIRST
    )


def test_expected_exceptions(domain):
    task = domain.load("nth_prime")
    candidate, verdicts = _check(domain, task, _fenced(task.payload.reference))
    assert certified(verdicts)
    no_raise = task.payload.reference.replace("raise ValueError('n must be at least 1')", "return 0")
    candidate, verdicts = _check(domain, task, _fenced(no_raise))
    messages = [v.message for v in verdicts[0].violations]
    assert "test 7 failed: nth_prime(0) returned 0, expected it to raise ValueError" in messages


def test_soft_critic_never_certifies(domain):
    task = domain.load("list_total")
    styled = _fenced('def list_total(values):\n    """Sum."""\n    return sum(values)\n')
    _, verdicts = _check(domain, task, styled)
    soft = [v for v in verdicts if not v.hard]
    assert soft and soft[0].status is VerdictStatus.VALID
    assert not certified(soft)  # soft verdicts alone never certify
    _, verdicts = _check(domain, task, _fenced('def list_total(values):\n    """Sum."""\n    return 0\n'))
    assert not certified(verdicts) and [v for v in verdicts if not v.hard][0].valid


def test_normalize_ignores_formatting(domain):
    task = domain.load("list_total")
    a = domain.parse(task, _fenced("def list_total(values):\n    return sum(values)  # easy\n"))
    b = domain.parse(task, _fenced("def list_total( values ):\n\n    return sum( values )\n"))
    assert domain.normalize(task, a) == domain.normalize(task, b) is not None


# -- the grammar and the random control ----------------------------------------------------------
def test_grammar_is_def_then_one_return(domain):
    task = domain.load("clamp")
    grammar = domain.constraint(task)
    assert grammar.choices(()) == ([task.payload.signature], False)
    returns, end_ok = grammar.choices((task.payload.signature,))
    assert not end_ok and "    return min(max(value, low), high)" in returns
    assert grammar.choices((task.payload.signature, returns[0])) == ([], True)
    assert all(line.startswith("    return ") for line in return_lines(task.payload.signature))


def test_random_proposer_draws_runnable_answers(domain):
    task = domain.load("count_vowels")
    batch = RandomProposer(seed=0).sample(domain.prompt(task), 5, SamplingParams(), domain.constraint(task))
    for completion in batch.completions:
        candidate = domain.parse(task, "```python\n" + completion.text)
        lines = candidate.answer.splitlines()
        assert lines[0] == task.payload.signature and lines[1].startswith("    return ")


def test_random_control_solves_an_easy_task(domain):
    strategy = BestOfN(
        RandomProposer(seed=2),
        code_tasks(limits=LIMITS, style_critic=False),
        Budget(rounds=None, samples=48),
        n=8,
        constrained=True,
        seed=2,
    )
    result = strategy.run(domain.load("list_total"))
    assert result.status is ResultStatus.VERIFIED
    assert "return sum(values)" in result.answer


# -- end to end ----------------------------------------------------------------------------------
def test_best_of_n_wrong_then_right(domain):
    task = domain.load("second_largest")
    wrong = "def second_largest(numbers):\n    return sorted(numbers)[-2]\n```"
    right = "def second_largest(numbers):\n    d = sorted(set(numbers))\n    return d[-2] if len(d) > 1 else None\n```"
    model = ScriptedModel([wrong, right])
    result = BestOfN(model, domain, Budget(rounds=None, samples=4), n=1).run(task)
    assert result.status is ResultStatus.VERIFIED and result.usage.samples == 2
    first, second = result.trace[0].samples[0], result.trace[1].samples[0]
    assert not first.certified and second.certified
    critique = domain_critique(domain, task, first.candidate, first.verdicts, FeedbackLevel.FIRST)
    assert "Test 1 failed: second_largest([]) raised IndexError: list index out of range" in critique
    assert result.certificate and all(v.valid and v.hard for v in result.certificate)
    assert domain.reference_check(task, result.answer)[0]


def test_modulo_sends_the_failing_test_back():
    from llm_modulo.strategies.modulo import Modulo

    domain = code_tasks(limits=LIMITS, style_critic=False)
    task = domain.load("count_vowels")
    wrong = "def count_vowels(text):\n    return sum(ch in 'aeiou' for ch in text)\n```"
    right = "def count_vowels(text):\n    return sum(ch in 'aeiou' for ch in text.lower())\n```"
    model = ScriptedModel([wrong, right])
    result = Modulo(model, domain, Budget(rounds=3, samples=4), n=1, feedback="first").run(task)
    assert result.status is ResultStatus.VERIFIED
    assert "Test 3 failed: count_vowels('AEIOU') returned 0, expected 5" in model.prompts[1].render_plain()
