"""The completion cache: a repeated seeded run never reaches the model; keys; processes; forwarding."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from llm_modulo.experiments.cache import CachingModel, CompletionCache, default_cache_path, sample_key, score_key
from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.protocols import LineConstraint, Prompt, SamplingParams, ScoreBatch
from llm_modulo.strategies.best_of_n import BestOfN
from llm_modulo.strategies.modulo import Modulo
from llm_modulo.types import Budget


class Counting:
    """A model double that counts the calls that reach it."""

    name = "counting-random"

    def __init__(self, with_score: bool = False) -> None:
        self.inner = RandomProposer()
        self.calls = 0
        self.score_calls = 0
        self.loaded = False
        if with_score:
            self.score = self._score

    def load(self) -> Counting:
        self.loaded = True
        return self

    def sample(self, prompt, n, params, constraint=None):
        self.calls += 1
        return self.inner.sample(prompt, n, params, constraint)

    def _score(self, prompt, continuations, seed=None):
        self.score_calls += 1
        return ScoreBatch(logprobs=[-float(len(c)) for c in continuations], tokens=len(continuations), prompt_tokens=7)


PROMPT = Prompt(messages=({"role": "user", "content": "plan"},), prefill="")
GRAMMAR = LineConstraint(lines=("(a)", "(b)", "(c)"), end="[END]")


def test_second_identical_run_makes_zero_inner_calls(tmp_path, sussman, bw):
    path = tmp_path / "c.sqlite"
    results = []
    for _ in range(2):
        inner = Counting()
        model = CachingModel(inner, "random", path)
        for cls in (BestOfN, Modulo):
            strategy = cls(
                model,
                bw,
                budget=Budget(rounds=None, samples=24),
                n=8,
                params=SamplingParams(seed=3),
                constrained="executable",
                seed=3,
            )
            results.append(strategy.run(sussman))
        results.append(inner.calls)
    first, second = results[:3], results[3:]
    assert first[2] > 0
    assert second[2] == 0  # the second run was served entirely from the cache
    for a, b in zip(first[:2], second[:2], strict=False):
        assert a.status == b.status and a.answer == b.answer
        assert [s.completion for t in a.trace for s in t.samples] == [s.completion for t in b.trace for s in t.samples]


def test_only_seeded_calls_are_cached(tmp_path):
    inner = Counting()
    model = CachingModel(inner, "random", tmp_path / "c.sqlite")
    for _ in range(2):
        model.sample(PROMPT, 2, SamplingParams(seed=None), GRAMMAR)
    assert inner.calls == 2 and model.cache.count() == 0
    for _ in range(2):
        model.sample(PROMPT, 2, SamplingParams(seed=1), GRAMMAR)
    assert inner.calls == 3 and model.hits == 1 and model.cache.count() == 1


def test_key_covers_every_setting():
    params = SamplingParams(temperature=1.0, top_p=0.9, max_tokens=64, seed=1)
    base = sample_key("m", PROMPT, 4, params, GRAMMAR)
    variants = [
        sample_key("other", PROMPT, 4, params, GRAMMAR),
        sample_key("m", Prompt(PROMPT.messages, prefill="(a)\n"), 4, params, GRAMMAR),
        sample_key("m", Prompt(({"role": "user", "content": "plan!"},)), 4, params, GRAMMAR),
        sample_key("m", PROMPT, 5, params, GRAMMAR),
        sample_key("m", PROMPT, 4, replace(params, temperature=0.5), GRAMMAR),
        sample_key("m", PROMPT, 4, replace(params, top_p=1.0), GRAMMAR),
        sample_key("m", PROMPT, 4, replace(params, max_tokens=65), GRAMMAR),
        sample_key("m", PROMPT, 4, replace(params, seed=2), GRAMMAR),
        sample_key("m", PROMPT, 4, replace(params, stop=("\n\n",)), GRAMMAR),
        sample_key("m", PROMPT, 4, params, None),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, lines=("(a)", "(b)"))),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, end="[STOP]")),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, max_lines=3)),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, exclude_first=frozenset({"(a)"}))),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, next_lines=lambda lines: (["(a)"], True))),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, exclude_after=frozenset({(("(a)",), "(a)")}))),
        sample_key("m", PROMPT, 4, params, replace(GRAMMAR, exclude_after=frozenset({((), "(a)")}))),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # exclude_first is a set: its order does not matter
    assert sample_key("m", PROMPT, 4, params, replace(GRAMMAR, exclude_first=frozenset({"(a)", "(b)"}))) == sample_key(
        "m", PROMPT, 4, params, replace(GRAMMAR, exclude_first=frozenset({"(b)", "(a)"}))
    )


def test_score_is_cached_and_only_offered_when_the_model_has_it(tmp_path):
    plain = CachingModel(Counting(), "random", tmp_path / "c.sqlite")
    assert not hasattr(plain, "score")
    inner = Counting(with_score=True)
    model = CachingModel(inner, "random", tmp_path / "c.sqlite")
    first = model.score(PROMPT, ["(a)", "(bb)"], seed=1)
    again = model.score(PROMPT, ["(a)", "(bb)"], seed=1)
    assert again.logprobs == first.logprobs == [-3.0, -4.0]
    assert (again.tokens, again.prompt_tokens) == (first.tokens, first.prompt_tokens) == (2, 7)
    assert inner.score_calls == 1
    model.score(PROMPT, ["(a)"], seed=1)
    model.score(PROMPT, ["(a)", "(bb)"], seed=2)
    assert inner.score_calls == 3
    model.score(PROMPT, ["(a)"])  # unseeded: never cached
    model.score(PROMPT, ["(a)"])
    assert inner.score_calls == 5
    assert score_key("random", PROMPT, ["(a)"]) != score_key("random", PROMPT, ["(b)"])
    assert score_key("random", PROMPT, ["(a)"], 1) != score_key("random", PROMPT, ["(a)"], 2)


def test_other_attributes_are_forwarded(tmp_path):
    inner = Counting()
    model = CachingModel(inner, "random", tmp_path / "c.sqlite")
    assert model.name == "counting-random"
    model.load()
    assert inner.loaded
    with pytest.raises(AttributeError):
        model.no_such_method  # noqa: B018
    from llm_modulo.protocols import LanguageModel

    assert isinstance(model, LanguageModel)


def test_default_path_sits_beside_the_store():
    assert default_cache_path(Path("runs/x.sqlite")) == Path("runs/x.cache.sqlite")


WRITER = """
import sys
from llm_modulo.experiments.cache import CompletionCache
cache = CompletionCache(sys.argv[1])
for i in range(150):
    cache.put("completions", f"k{i}", sys.argv[2])
    assert cache.get("completions", f"k{i}") is not None
"""


def test_several_processes_write_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), json.dumps(w)], stderr=subprocess.PIPE)
        for w in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    cache = CompletionCache(path)
    assert cache.count() == 150  # every key once, whoever wrote it first


def test_a_second_sweep_run_is_served_from_the_cache(planbench, tmp_path, monkeypatch):
    """The runner's wiring: a rerun into a fresh store reaches the model zero times."""
    from llm_modulo.experiments import worker
    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import run_sweep

    monkeypatch.setattr(worker, "fresh_per_trial", lambda spec: False)  # cache the random model too
    monkeypatch.setattr(worker, "_MODELS", {})
    config = tmp_path / "sweep.toml"
    config.write_text(
        'name = "cached"\nmodels = ["random"]\nseeds = [0]\n'
        '[[budgets]]\nsamples = 16\nrounds = "none"\n'
        '[[instance_sets]]\ndomain = "blocksworld"\nset = "blocksworld/generated_basic_3"\ncount = 3\n'
        '[[strategies]]\nname = "best-of-n"\nn = 8\nconstrained = "executable"\n'
        '[[strategies]]\nname = "modulo"\nn = 8\nconstrained = "executable"\nreuse_prefix = true\n'
        '[[strategies]]\nname = "search"\nmodel_share = inf\nbudgets = [{ nodes = 16 }]\n'  # score() calls
    )
    sweep = load_sweep(config)
    cache = tmp_path / "shared.cache.sqlite"
    run_sweep(sweep, tmp_path / "a.sqlite", workers=1, cache_path=cache, progress=False)
    (first_model,) = worker._MODELS.values()
    assert first_model.inner_calls > 0
    assert CompletionCache(cache).count("scores") > 0  # the search arm's score() calls went through the cache
    worker._MODELS.clear()
    run_sweep(sweep, tmp_path / "b.sqlite", workers=1, cache_path=cache, progress=False)
    (second_model,) = worker._MODELS.values()
    # (the first run already hit: modulo's first round is best-of-n's first call, same prompt and seed)
    assert second_model.inner_calls == 0 and second_model.hits == first_model.inner_calls + first_model.hits

    import sqlite3

    def rows(name):
        conn = sqlite3.connect(tmp_path / name)
        return sorted(conn.execute("SELECT key, status, samples, generated_tokens, answer_len FROM trials"))

    assert rows("a.sqlite") == rows("b.sqlite")


def test_completions_are_cached_per_model_digest(tmp_path, monkeypatch):
    """A scripted file, an adapter retrained into the same folder, or the default model on another engine
    is another digest: its calls never read the completions cached for the old one."""
    import hashlib

    from llm_modulo.experiments import worker
    from llm_modulo.experiments.config import load_sweep
    from llm_modulo.experiments.runner import run_sweep

    monkeypatch.setattr(worker, "fresh_per_trial", lambda spec: False)
    monkeypatch.setattr(worker, "_MODELS", {})
    script = tmp_path / "plans.json"
    script.write_text(json.dumps({"completions": ["[PLAN END]"], "cycle": True}))
    config = tmp_path / "sweep.toml"
    config.write_text(
        'name = "digest"\nmodels = ["scripted:plans.json"]\nseeds = [0]\n'
        "[[budgets]]\nsamples = 1\nrounds = 1\n"
        '[[instance_sets]]\ndomain = "blocksworld"\nset = "blocksworld/generated_basic_3"\ncount = 1\n'
        '[[strategies]]\nname = "direct"\n'
    )
    run_sweep(load_sweep(config), tmp_path / "a.sqlite", workers=1, cache_path=tmp_path / "c.sqlite", progress=False)
    (model,) = worker._MODELS.values()
    assert model.spec == "scripted:plans.json#" + hashlib.sha256(script.read_bytes()).hexdigest()
