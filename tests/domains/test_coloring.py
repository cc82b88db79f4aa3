"""Graph colouring: instances, prompts, the tolerant parser, the z3 critic against networkx, loop hooks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llm_modulo import FeedbackLevel, InputError
from llm_modulo.domains.coloring import coloring
from llm_modulo.domains.coloring.graphs import chromatic_number, colour_with, parse_name
from llm_modulo.feedback import domain_critique
from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.models.scripted import ScriptedModel
from llm_modulo.strategies.best_of_n import BestOfN
from llm_modulo.strategies.search import Search
from llm_modulo.types import Budget, ResultStatus, VerdictStatus

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "coloring" / "corpus.json"
# n8-p0.4-k3-s3: 8 vertices, 10 edges, chromatic number 3
SMALL = "n8-p0.4-k3-s3"


@pytest.fixture(scope="module")
def dom():
    return coloring()


@pytest.fixture(scope="module")
def small(dom):
    return dom.load(SMALL)


def _check(dom, task, text):
    candidate = dom.parse(task, text)
    return candidate, [c.check(task, candidate) for c in dom.critics(task)]


def _proper(task) -> list[int]:
    colouring = colour_with(task.payload.nodes, task.payload.edges, task.payload.k)
    assert colouring is not None
    return colouring


def _text(colouring, names=("red", "green", "blue", "yellow")) -> str:
    return "".join(f"{v}: {names[c]}\n" for v, c in enumerate(colouring)) + "[COLORING END]"


# -- instances -------------------------------------------------------------------------------
def test_instance_name_regenerates_the_same_graph(dom):
    a, b = dom.load("n10-p0.4-k3-s7"), dom.load("n10-p0.4-k3-s7")
    assert a.payload.edges == b.payload.edges and a.payload.k == 3 and a.payload.nodes == 10
    assert a.payload.edges != dom.load("n10-p0.4-k3-s8").payload.edges
    gnm = dom.load("n7-m12-k3-s5")
    assert len(gnm.payload.edges) == 12 and gnm.meta["generator"] == "gnm"
    assert dom.load("n10-p0.40-k3-s7").id == "n10-p0.4-k3-s7"  # canonical name


@pytest.mark.parametrize(
    "name", ["", "K4", "n10-p1.5-k3-s1", "n4-m7-k3-s1", "n10-p0.4-k0-s1", "n10-p0.4-k3", "n10-p0.4-k13-s1"]
)
def test_bad_names_are_one_line_input_errors(dom, name):
    with pytest.raises(InputError) as err:
        dom.load(name)
    assert "\n" not in str(err.value)


def test_named_sets(dom):
    study = dom.instances("study")
    assert len(study) == 100 and len(set(study)) == 100
    for name in study[:20]:
        spec = parse_name(name)
        task = dom.load(name)
        assert spec.nodes == 10 and spec.p == 0.4
        assert spec.k == chromatic_number(10, task.payload.edges)
    small = dom.instances("small")
    assert len(small) == 50 and {parse_name(n).nodes for n in small} == set(range(6, 11))
    impossible = dom.instances("impossible")
    assert len(impossible) == 50
    for name in impossible[:10]:
        task = dom.load(name)
        assert colour_with(task.payload.nodes, task.payload.edges, task.payload.k) is None
    with pytest.raises(InputError, match="known: small, study, impossible"):
        dom.instances("nope")


# -- prompts and parsing ----------------------------------------------------------------------
def test_prompt_lists_edges_colours_and_one_example(dom, small):
    prompt = dom.prompt(small)
    text = prompt.messages[0]["content"]
    assert text.count("[STATEMENT]") == 2 and text.count("[COLORING END]") == 2  # instructions + example
    assert "You may use at most 3 colors: red, green, blue." in text
    assert ", ".join(f"{u}-{v}" for u, v in small.payload.edges) in text
    assert "8 vertices, numbered 0 to 7" in text and prompt.prefill == "[COLORING]\n"
    zero = coloring(one_shot=False).prompt(small).messages[0]["content"]
    assert zero.count("[STATEMENT]") == 1
    numbers = coloring(colours="numbers").prompt(small).messages[0]["content"]
    assert "at most 3 colors: 1, 2, 3." in numbers and '"0: 1"' in numbers


def test_feedback_goes_back_as_a_conversation(dom, small):
    from llm_modulo.protocols import Feedback

    prompt = dom.prompt(small, [Feedback(answer="0: red", critique="The coloring is not valid.")])
    assert [m["role"] for m in prompt.messages] == ["user", "assistant", "user"]
    assert prompt.messages[-1]["content"].endswith("Please give a corrected coloring.")


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("0: red\n1: Green\n2: BLUE\n[COLORING END]", [[0, 0], [1, 1], [2, 2]]),
        (
            "Here is my answer.\nVertex 0 gets color 2\nvertex 1 is colored red.\nNode 2 -> blue",
            [[0, 1], [1, 0], [2, 2]],
        ),
        ("0: red, 1: green, 2: red", [[0, 0], [1, 1], [2, 0]]),
        ("- **0**: red\n- **1**: 3\n1. Vertex 2: grey", [[0, 0], [1, 2], [2, 11]]),
        ("I used 3 colors: red, green, blue.\nThe edges are 0-1, 1-2.\n0: red\n[COLORING END]\n1: blue", [[0, 0]]),
        ("vertex 3 and vertex 5 are both red\n3 = 2\nStep 1: 4: green", [[3, 1], [4, 1]]),
        ("[COLORING]\n0: magenta\n1: 0\n", [[1, -1]]),
    ],
)
def test_parser_reads_free_text(dom, small, text, pairs):
    assert dom.parse(small, text).answer == pairs


def test_prose_without_a_colouring_is_a_parse_error(dom, small):
    candidate, verdicts = _check(dom, small, "I cannot color this graph.")
    assert candidate.answer is None and verdicts[0].violations[0].kind == "parse_error"
    assert json.loads(json.dumps(dom.parse(small, "0: red").answer)) == [[0, 0]]


# -- the critic -------------------------------------------------------------------------------
def test_fixture_corpus_z3_agrees_with_networkx_and_the_labels():
    corpus = json.loads(CORPUS.read_text())
    assert len(corpus) >= 100
    domains = {"names": coloring(), "numbers": coloring(colours="numbers")}
    tasks: dict = {}
    seen = {True: 0, False: 0}
    for entry in corpus:
        dom = domains[entry["colours"]]
        task = tasks.setdefault((entry["colours"], entry["instance"]), dom.load(entry["instance"]))
        candidate, (verdict,) = _check(dom, task, "[COLORING]\n" + entry["text"])
        ok, engine = dom.reference_check(task, candidate.answer)
        assert engine == "networkx"
        assert verdict.valid is ok is entry["valid"], entry["note"]
        assert set(entry["kinds"]) <= {v.kind for v in verdict.violations}, entry["note"]
        assert (verdict.score == 1.0) is verdict.valid
        seen[entry["valid"]] += 1
    assert seen[True] >= 30 and seen[False] >= 30


def test_conflict_is_named_and_critiqued_at_every_level(dom, small):
    colouring = _proper(small)
    u, v = small.payload.edges[0]
    colouring[v] = colouring[u]
    colour = ("red", "green", "blue")[colouring[u]]
    candidate, verdicts = _check(dom, small, _text(colouring))
    (verdict,) = verdicts
    assert verdict.status is VerdictStatus.INVALID and verdict.engine.startswith("z3")
    conflicts = [x for x in verdict.violations if x.kind == "conflict"]
    assert any(x.detail["edge"] == [u, v] and x.detail["constraint"] == f"edge {u}-{v}" for x in conflicts)
    assert f"edge {u}-{v}" in verdict.info["violated"]
    assert domain_critique(dom, small, candidate, verdicts, FeedbackLevel.NONE) == "Please try again."
    assert domain_critique(dom, small, candidate, verdicts, FeedbackLevel.BINARY) == "The coloring is not valid."
    first = domain_critique(dom, small, candidate, verdicts, FeedbackLevel.FIRST)
    every = domain_critique(dom, small, candidate, verdicts, FeedbackLevel.ALL)
    assert first.count("share an edge") == 1 and every.count("share an edge") == len(conflicts)
    assert f"Vertices {u} and {v} share an edge and are both {colour}." in every


def test_missing_extra_colour_and_unknown_vertex(dom, small):
    colouring = _proper(small)
    text = "".join(f"{v}: {('red', 'green', 'blue')[c]}\n" for v, c in enumerate(colouring) if v != 2)
    candidate, (verdict,) = _check(dom, small, text + "3: yellow\n9: red\n")
    kinds = {x.kind for x in verdict.violations}
    assert {"missing", "unknown_colour", "two_colours", "unknown_vertex"} <= kinds
    critique = domain_critique(dom, small, candidate, [verdict], FeedbackLevel.ALL)
    assert "Vertex 2 has no color." in critique and "yellow, which is not one of the 3 allowed colors" in critique
    assert critique.index("Vertex 2 has no color") > critique.index("yellow")  # missing vertices last


def test_answers_read_back_from_json_are_checked_alike(dom, small):
    colouring = _proper(small)
    as_dict = {str(v): c for v, c in enumerate(colouring)}
    assert dom.reference_check(small, as_dict) == (True, "networkx")
    assert dom.reference_check(small, [[v, c] for v, c in enumerate(colouring)])[0]
    from llm_modulo.types import Candidate

    critic = dom.critics(small)[0]
    assert critic.check(small, Candidate(text="", answer=as_dict)).valid
    as_dict["0"] = 5
    assert not critic.check(small, Candidate(text="", answer=as_dict)).valid
    assert dom.reference_check(small, as_dict) == (False, "networkx")


def test_refute_and_reference(dom):
    critic = dom.critics(dom.load(SMALL))[0]
    clique = coloring().from_graph(__import__("networkx").complete_graph(4), 3, "K4")
    proof = critic.refute(clique)
    assert proof is not None and proof.violations[0].kind == "no_solution"
    assert "no coloring of this graph with 3 colors" in proof.violations[0].message
    assert critic.refute(dom.load("n4-p1-k3-s0")) is not None
    assert critic.refute(dom.load("n4-p1-k4-s0")) is None
    for name in dom.instances("impossible")[:10]:
        assert critic.refute(dom.load(name)) is not None, name
    for name in dom.instances("study")[:10]:
        task = dom.load(name)
        assert critic.refute(task) is None
        answer = critic.reference(task)
        assert dom.reference_check(task, answer)[0]
        assert critic.check(task, dom.parse(task, dom.answer_text(task, answer))).valid


# -- strategies end to end ----------------------------------------------------------------------
def test_scripted_conflicting_colouring_is_invalid_with_the_edge_named(dom, small):
    colouring = _proper(small)
    u, v = small.payload.edges[-1]
    colouring[v] = colouring[u]
    model = ScriptedModel([_text(colouring)])
    result = BestOfN(model, dom, Budget(rounds=1, samples=1), n=1).run(small)
    assert result.status is ResultStatus.EXHAUSTED and not result.certificate
    (verdict,) = result.trace[0].samples[0].verdicts
    assert verdict.status is VerdictStatus.INVALID
    assert f"edge {u}-{v}" in verdict.info["violated"]
    good = BestOfN(ScriptedModel(["0: red\n", _text(_proper(small))]), dom, Budget(rounds=2, samples=2), n=1).run(small)
    assert good.verified and good.usage.samples == 2


@pytest.mark.parametrize("name", ["n6-p0.4-k2-s0", SMALL, "n10-p0.4-k3-s0"])
def test_random_proposer_best_of_n_and_search_verify(dom, name):
    task = dom.load(name)
    bon = BestOfN(RandomProposer(seed=3), dom, Budget(rounds=None, samples=400), n=8, constrained="executable", seed=3)
    result = bon.run(task)
    assert result.verified and dom.reference_check(task, result.answer)[0]
    for heuristic in ("relaxed-plan", "goal-count", "none"):
        found = Search(RandomProposer(seed=3), dom, Budget(rounds=None, samples=None), heuristic=heuristic, seed=3).run(
            task
        )
        assert found.verified and dom.reference_check(task, found.answer)[0], heuristic
        assert found.usage.nodes <= 200


def test_random_proposer_under_the_static_grammar_gives_well_formed_lines(dom, small):
    from llm_modulo.protocols import SamplingParams

    constraint = dom.constraint(small)
    batch = RandomProposer(seed=0).sample(dom.prompt(small), 20, SamplingParams(seed=0), constraint)
    for completion in batch.completions:
        candidate = dom.parse(small, "[COLORING]\n" + completion.text)
        lines = completion.text.splitlines()[:-1]
        assert completion.text.endswith("[COLORING END]") and all(line in constraint.lines for line in lines)
        assert len(candidate.answer or []) == len(lines)


# -- grammar and search hooks -----------------------------------------------------------------
def test_executable_grammar_colours_vertices_in_order_without_clashes(dom, small):
    constraint = dom.constraint(small, executable=True)
    lines, end_ok = constraint.choices(())
    assert lines == ["0: red", "0: green", "0: blue"] and not end_ok
    neighbours = small.payload.neighbours
    w = min(neighbours[0])
    path: tuple[str, ...] = ("0: red",)
    for _ in range(1, w):
        options, _ = constraint.choices(path)
        path += (options[0],)
    options, _ = constraint.choices(path)
    assert all(line.startswith(f"{w}: ") for line in options) and f"{w}: red" not in options
    # from a prefix that already clashes, the static grammar
    u, v = small.payload.edges[0]
    assert dom.constraint(small, prefix=f"{u}: red\n{v}: red\n", executable=True).next_lines is None
    cont = dom.constraint(small, prefix="0: blue\n", executable=True)
    assert all(line.startswith("1: ") for line in cont.choices(())[0])


def test_executable_grammar_ends_only_when_every_vertex_is_coloured(dom, small):
    colouring = _proper(small)
    constraint = dom.constraint(small, executable=True)
    path = tuple(f"{v}: {('red', 'green', 'blue')[c]}" for v, c in enumerate(colouring))
    assert constraint.choices(path[:-1])[1] is False
    assert constraint.choices(path) == ([], True)


def test_search_guide_merges_colour_renamings_and_spots_dead_ends(dom):
    triangle = coloring().from_graph(__import__("networkx").cycle_graph(3), 3, "triangle")
    guide = dom.search_guide(triangle, "relaxed-plan")
    key_a, h_a = guide(("0: red", "1: green"))
    key_b, h_b = guide(("0: blue", "1: red"))
    assert key_a == key_b and h_a == h_b == 1.0
    assert guide(("0: red",))[0] != guide(("0: red", "1: green"))[0]
    two = coloring().from_graph(__import__("networkx").cycle_graph(3), 2, "triangle-2")
    assert math.isinf(dom.search_guide(two, "relaxed-plan")(("0: red", "1: green"))[1])
    assert dom.search_guide(two, "goal-count")(("0: red", "1: green"))[1] == 1.0
    assert dom.search_guide(two, "none")(("0: red",))[1] == 0.0
    with pytest.raises(InputError):
        dom.search_guide(two, "astar")


def test_valid_prefix_and_rejected_continuation(dom, small):
    colouring = _proper(small)
    u, v = next((u, v) for u, v in small.payload.edges if v > 2)
    bad = list(colouring)
    bad[v] = bad[u]
    candidate, verdicts = _check(dom, small, _text(bad))
    prefix = dom.valid_prefix(small, candidate, verdicts)
    assert prefix == "".join(f"{x}: {('red', 'green', 'blue')[bad[x]]}\n" for x in range(v))
    assert dom.rejected_continuation(small, candidate, verdicts, prefix) == f"{v}: {('red', 'green', 'blue')[bad[v]]}"
    assert dom.rejected_continuation(small, candidate, verdicts, "") is None
    short, verdicts = _check(dom, small, "0: red\n")
    assert dom.valid_prefix(small, short, verdicts) == "0: red\n"
    assert dom.rejected_continuation(small, short, verdicts, "0: red\n") == "[COLORING END]"


def test_normalize_votes_colour_renamings_together(dom, small):
    a = dom.parse(small, "0: red\n1: green\n2: red")
    b = dom.parse(small, "2: blue\n1: yellow\n0: blue")
    c = dom.parse(small, "0: red\n1: red\n2: green")
    assert dom.normalize(small, a) == dom.normalize(small, b) != dom.normalize(small, c)
    assert dom.normalize(small, dom.parse(small, "no idea")) is None


def test_judge_prompt_and_grammar(dom, small):
    candidate = dom.parse(small, "Sure.\nVertex 0 gets color 1\n1: green\n[COLORING END]")
    text = dom.judge_prompt(small, candidate).messages[0]["content"]
    assert "[COLORING]\n0: red\n1: green\n[COLORING END]" in text
    assert "Is this coloring valid?" in text and "Answer yes or no" in text and "Sure." not in text
    assert "You may use at most 3 colors: red, green, blue." in text
    grammar = dom.judge_constraint(small)
    assert grammar.max_lines == 1 and grammar.end in grammar.exclude_first
    assert all(line.startswith(("Yes", "No")) for line in grammar.lines)
    u, v = small.payload.edges[0]
    assert f"No, vertices {u} and {v} share an edge and are both blue." in grammar.lines


def test_self_critique_runs_with_the_domain_judge(dom, small):
    from llm_modulo.strategies.self_critique import SelfCritique

    colouring = _proper(small)
    u, v = small.payload.edges[0]
    bad = list(colouring)
    bad[v] = bad[u]
    script = [_text(bad), "Yes, the coloring is valid."]
    result = SelfCritique(ScriptedModel(script), dom, Budget(rounds=2, samples=4)).run(small)
    assert result.info["false_accepts"] == 1 and not result.verified
    assert "Is this coloring valid?" in result.trace[1].prompt
