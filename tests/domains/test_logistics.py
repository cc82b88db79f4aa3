"""PlanBench Logistics: PlanBench's own wording, plans read back in both styles, critiques, search."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_modulo import FeedbackLevel
from llm_modulo.domains.logistics import TEST_SET, logistics, test_instances
from llm_modulo.domains.planning import PLAN_END
from llm_modulo.feedback import domain_critique
from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.strategies.search import Search
from llm_modulo.types import Budget

INSTANCE = "logistics/generated_basic/instance-2"


def _check(domain, task, text):
    candidate = domain.parse(task, text)
    return candidate, [c.check(task, candidate) for c in domain.critics(task)]


@pytest.fixture(scope="module")
def lg():
    return logistics()


@pytest.fixture(scope="module")
def task(lg, planbench: Path):
    return lg.load(INSTANCE)


def test_prompt_is_planbench_wording(lg, task, planbench: Path) -> None:
    import json

    text = lg.prompt(task).messages[0]["content"]
    assert text.startswith("I have to plan logistics to transport packages")
    assert text.count("[STATEMENT]") == 2 and text.count(PLAN_END) == 1
    # the statement is word for word PlanBench's query for this instance
    prompts = json.loads((planbench / "prompts/logistics/task_1_plan_generation.json").read_text())["instances"]
    query = next(p["query"] for p in prompts if p["instance_id"] == 2)
    ours = text[text.rindex("[STATEMENT]") :]
    assert ours in query
    # the worked example is instance 1, which is not in the test set
    assert "fly airplane_1 from location_0_0 to location_1_0\nload package_0 into airplane_1 at location_1_0" in text
    assert 1 not in TEST_SET and test_instances(2) == [INSTANCE, "logistics/generated_basic/instance-3"]


@pytest.mark.parametrize(
    "text",
    [
        "load package_0 into airplane_1 at location_1_0\nfly airplane_1 from location_1_0 to location_0_0\n"
        "unload package_0 from airplane_1 at location_0_0\n[PLAN END]",
        "(LOAD-AIRPLANE P0 A1 L1-0)\n(fly-airplane a1 l1-0 l0-0)\n(unload-airplane p0 a1 l0-0)",
        "1. Load package_0 into airplane_1 at location_1_0.\n2. (fly-airplane a1 l1-0 l0-0)\n"
        "3. UNLOAD PACKAGE_0 FROM AIRPLANE_1 AT LOCATION_0_0",
    ],
)
def test_plans_parse_in_every_style(lg, task, text) -> None:
    candidate, verdicts = _check(lg, task, text)
    assert candidate.answer == [
        ("load-airplane", ("p0", "a1", "l1-0")),
        ("fly-airplane", ("a1", "l1-0", "l0-0")),
        ("unload-airplane", ("p0", "a1", "l0-0")),
    ]
    assert verdicts[0].valid and verdicts[0].engine == "grounded-strips"


def test_same_sentence_for_truck_and_airplane_reads_as_the_possible_one(lg, task) -> None:
    # PlanBench renders load-truck and load-airplane alike: "load {} into {} at {}"
    truck = lg.parse(task, "load package_0 into truck_1 at location_1_0").answer
    plane = lg.parse(task, "load package_0 into airplane_1 at location_1_0").answer
    assert truck == [("load-truck", ("p0", "t1", "l1-0"))] and plane == [("load-airplane", ("p0", "a1", "l1-0"))]
    lines, by_line = lg._grammar_lines(task)
    for line in lines:  # every grammar line reads back as its own action
        assert lg.parse(task, line).answer == [(by_line[line].name, by_line[line].args)]


def test_critique_names_type_conditions(lg, task) -> None:
    candidate, verdicts = _check(lg, task, "(load-truck a1 t1 l1-0)\nfly airplane_1 from location_1_0 to location_0_0")
    critique = domain_critique(lg, task, candidate, verdicts, FeedbackLevel.FIRST)
    assert critique == (
        "The plan is not valid. Step 1, load airplane_1 into truck_1 at location_1_0, "
        "is not possible: obj airplane_1 does not hold."
    )
    assert "The goal is not reached: package_0 is not at location_0_0." in domain_critique(
        lg, task, candidate, verdicts, FeedbackLevel.ALL
    )


def test_pddl_style(task, planbench: Path) -> None:
    domain = logistics(style="pddl")
    t = domain.load(INSTANCE)
    text = domain.prompt(t).messages[0]["content"]
    assert "(:action LOAD-TRUCK" in text and "(fly-airplane a1 l0-0 l1-0)" in text
    assert "(at p0 l1-0)" in text


def test_known_plan_length_and_soft_critic(planbench: Path) -> None:
    domain = logistics(soft_critics=True)
    t = domain.load(INSTANCE)
    assert t.meta == {"known_plan_length": 3}
    detour = (
        "(fly-airplane a0 l1-0 l0-0)\n(fly-airplane a0 l0-0 l1-0)\n(load-airplane p0 a1 l1-0)\n"
        "(fly-airplane a1 l1-0 l0-0)\n(unload-airplane p0 a1 l0-0)"
    )
    _, verdicts = _check(domain, t, detour)
    assert verdicts[0].valid and verdicts[1].violations[0].detail == {"plan_len": 5, "optimum": 3}


def test_registry_style_loading_and_search(planbench: Path) -> None:
    domain = logistics()
    task = domain.load("logistics/generated_basic/instance-5")
    result = Search(RandomProposer(seed=0), domain, budget=Budget(nodes=200, rounds=None, samples=None)).run(task)
    assert result.verified and result.usage.nodes <= 200
    assert domain.reference_check(task, result.answer)[0]
    assert domain.instances("logistics/generated_basic")[:2] == [
        "logistics/generated_basic/instance-1",
        "logistics/generated_basic/instance-2",
    ]
