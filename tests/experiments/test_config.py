"""Sweep configs: validation errors name the bad field, the grid expands, keys are stable."""

from __future__ import annotations

import copy
import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml

from llm_modulo.errors import InputError
from llm_modulo.experiments.config import load_sweep, trial_key

REPO = Path(__file__).resolve().parents[2]

TOML = """
name = "grid"
models = ["random"]
feedback = ["first"]
seeds = [0, 1]

[sampling]
temperature = 1.0
max_tokens = 64

[[budgets]]
samples = 16
rounds = "none"

[[budgets]]
samples = 8

[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic_3"
count = 3

[[instance_sets]]
domain = "mystery_blocksworld"
set = "blocksworld/mystery/generated_basic_3"
ids = [1, "instance-4"]

[[strategies]]
name = "direct"
constrained = "well-formed"
budgets = [{ samples = 1, rounds = 1 }]

[[strategies]]
name = "best-of-n"
n = 8
constrained = "well-formed"

[[strategies]]
name = "modulo"
n = 4
constrained = "executable"
reuse_prefix = true
feedback = ["none", "binary", "first", "all"]
"""

BASE = {
    "name": "base",
    "models": ["random"],
    "feedback": ["first"],
    "seeds": [0],
    "budgets": [{"samples": 16, "rounds": None}],
    "instance_sets": [{"domain": "blocksworld", "set": "blocksworld/generated_basic_3", "count": 2}],
    "strategies": [{"name": "best-of-n", "n": 8, "constrained": "well-formed"}],
}


def write_yaml(tmp_path: Path, data: dict, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load(tmp_path: Path, data: dict, name: str = "sweep.yaml"):
    return load_sweep(write_yaml(tmp_path, data, name))


def variant(**changes) -> dict:
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = data
        parts = dotted.split("__")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        target[parts[-1]] = value
    return data


def test_grid_expansion_counts(planbench, tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(TOML)
    sweep = load_sweep(path)
    instances = 3 + 2
    # direct: 1 budget x 1 feedback; best-of-n: 2 budgets x 1; modulo: 2 budgets x 4 feedback levels; 2 seeds each
    assert len(sweep.trials) == instances * 2 * (1 + 2 + 8)
    assert len({t.key for t in sweep.trials}) == len(sweep.trials)
    arms = sweep.arms()
    assert arms[("direct", "random", "first", "rounds=1,samples=1")] == instances * 2
    assert arms[("modulo", "random", "binary", "samples=16")] == instances * 2
    assert {t.instance for t in sweep.trials if t.domain == "mystery_blocksworld"} == {
        "blocksworld/mystery/generated_basic_3/instance-1",
        "blocksworld/mystery/generated_basic_3/instance-4",
    }
    # "none" means unlimited; a budget's unset fields keep Budget's defaults
    assert {t.budget.rounds for t in sweep.trials if t.strategy == "best-of-n"} == {None, 10}
    # interleaved: every arm on the first instance of each set before any second instance
    per_instance = 2 * (1 + 2 + 8)
    first_block = sweep.trials[: 2 * per_instance]
    assert {t.instance.rsplit("/", 1)[1] for t in first_block} == {"instance-1"}


def test_yaml_and_toml_give_the_same_trials(planbench, tmp_path):
    toml_path = tmp_path / "grid.toml"
    toml_path.write_text(TOML)
    import tomllib

    data = tomllib.loads(TOML)
    data["budgets"][0]["rounds"] = None
    yaml_sweep = load(tmp_path, data, "grid.yaml")
    assert [t.key for t in yaml_sweep.trials] == [t.key for t in load_sweep(toml_path).trials]
    assert yaml_sweep.format == "yaml"


def test_count_takes_the_first_instances_in_natural_order(planbench, tmp_path):
    sweep = load(tmp_path, variant(instance_sets__0__count=12))
    names = list(dict.fromkeys(t.instance for t in sweep.trials))
    assert names == [f"blocksworld/generated_basic_3/instance-{i}" for i in range(1, 13)]
    sweep = load(tmp_path, variant(instance_sets__0__count=2, instance_sets__0__start=5))
    assert [t.instance.rsplit("/", 1)[1] for t in sweep.trials] == ["instance-5", "instance-6"]


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"instance_sets__0__domain": "nowhere"}, "instance_sets[0].domain", "unknown domain"),
        ({"instance_sets__0__set": "blocksworld/nothing"}, "instance_sets[0].set", "no PlanBench set"),
        ({"instance_sets__0__count": 500}, "instance_sets[0].count", "asks for 500"),
        ({"instance_sets__0__ids": [1]}, "instance_sets[0]", "exactly one of"),
        ({"instance_sets__0__count": 0}, "instance_sets[0].count", "greater than or equal to 1"),
        ({"strategies__0__name": "magic"}, "strategies[0].name", "unknown strategy"),
        ({"strategies__0__k": 3}, "strategies[0].k", "unknown option for strategy 'best-of-n'"),
        ({"strategies__0__n": "8"}, "strategies[0].n", "valid integer"),
        ({"strategies__0__n": 0}, "strategies[0].n", "greater than or equal to 1"),
        (
            {"strategies__0__constrained": "sort-of"},
            "strategies[0].constrained",
            "'auto', 'none', 'well-formed' or 'executable'",
        ),
        ({"strategies__0__constrained": "none"}, "strategies[0].constrained", "random proposer"),
        ({"strategies__0__budget": {"samples": 3}}, "strategies[0].budget", "set by the grid"),
        ({"strategies__0__feedback": ["some"]}, "strategies[0].feedback[0]", "'none', 'binary', 'first' or 'all'"),
        ({"models": ["gpt-17"]}, "models[0]", "unknown model 'gpt-17'"),
        ({"models": ["random", "scripted:missing.json"]}, "models[1]", "scripted model file not found"),
        ({"models": []}, "models", "at least 1"),
        ({"budgets": [{"samples": 16, "nodez": 3}]}, "budgets[0].nodez", "unknown field"),
        ({"budgets": [{"samples": "many"}]}, "budgets[0].samples", "valid integer"),
        ({"budgets": [{"samples": -4}]}, "budgets[0].samples", "greater than or equal to 1"),
        ({"budgets": [{"seconds": 0}]}, "budgets[0].seconds", "greater than 0"),
        ({"feedback": ["first", "loud"]}, "feedback[1]", "'none', 'binary', 'first' or 'all'"),
        ({"style": "haiku"}, "style", "'nl' or 'pddl'"),
        ({"name": "has space"}, "name", "letters, digits"),
        ({"sampling": {"temperature": -1}}, "sampling.temperature", "greater than or equal to 0"),
        ({"sampling": {"temprature": 1}}, "sampling.temprature", "unknown field"),
        ({"seedz": [1]}, "seedz", "unknown field"),
    ],
)
def test_bad_field_is_one_line_naming_it(planbench, tmp_path, changes, loc, words):
    path = write_yaml(tmp_path, variant(**changes))
    with pytest.raises(InputError) as info:
        load_sweep(path)
    message = info.value.format_message()
    assert "\n" not in message
    assert message.startswith(f"{path}:{loc}: "), message
    assert words in message, message


def test_missing_required_field_and_syntax_errors(planbench, tmp_path):
    data = variant()
    del data["strategies"]
    with pytest.raises(InputError, match=r"sweep\.yaml:strategies: required field is missing"):
        load(tmp_path, data)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[strategies]\n')
    with pytest.raises(InputError, match=r"bad\.toml: TOML syntax error"):
        load_sweep(bad)
    with pytest.raises(InputError, match="config not found"):
        load_sweep(tmp_path / "absent.toml")


KEY_CHANGES = [
    {"models": ["scripted:script.json"]},
    {"seeds": [1]},
    {"feedback": ["all"]},
    {"budgets": [{"samples": 17, "rounds": None}]},
    {"budgets": [{"samples": 16, "rounds": None, "tokens": 1000}]},
    {"sampling": {"temperature": 0.7}},
    {"sampling": {"top_p": 0.9}},
    {"sampling": {"max_tokens": 100}},
    {"style": "pddl"},
    {"strategies__0__n": 4},
    {"strategies__0__constrained": "executable"},
    {"strategies__0__refute": False},
    {"strategies__0__sampling": {"temperature": 0.0}},
    {"strategies__0__name": "modulo"},
    {"instance_sets__0__domain": "pddl"},
]


@pytest.mark.parametrize("changes", KEY_CHANGES, ids=[next(iter(c)) for c in KEY_CHANGES])
def test_any_setting_change_gives_new_keys(planbench, tmp_path, changes):
    (tmp_path / "script.json").write_text(json.dumps(["(pick-up a)\n[PLAN END]"]))
    base = {t.key for t in load(tmp_path, variant()).trials}
    changed = {t.key for t in load(tmp_path, variant(**changes)).trials}
    assert base.isdisjoint(changed)


def test_sweep_name_and_label_do_not_change_keys(planbench, tmp_path):
    base = [t.key for t in load(tmp_path, variant()).trials]
    assert [t.key for t in load(tmp_path, variant(name="other", strategies__0__label="my arm")).trials] == base
    # the key is the sha256 of the trial's canonical config, nothing else
    trial = load(tmp_path, variant()).trials[0]
    assert trial.key == trial_key(trial.config())
    assert "sweep" not in trial.config() and "label" not in trial.config()


def test_a_strategy_may_sample_on_its_own_terms(planbench, tmp_path):
    greedy = {"name": "direct", "constrained": "well-formed", "sampling": {"temperature": 0.0, "top_p": 1.0}}
    sweep = load(tmp_path, variant(sampling={"temperature": 0.8}, strategies=[BASE["strategies"][0], greedy]))
    by_strategy = {t.strategy: t.sampling for t in sweep.trials}
    assert by_strategy["direct"].temperature == 0.0 and by_strategy["direct"].top_p == 1.0
    assert by_strategy["best-of-n"].temperature == 0.8  # the sweep's
    assert "sampling" not in sweep.trials[0].options


def test_two_sweeps_share_identical_trials(planbench, tmp_path):
    small = load(tmp_path, variant(name="a"), "a.yaml")
    big = load(tmp_path, variant(name="b", seeds=[0, 1], instance_sets__0__count=3), "b.yaml")
    assert {t.key for t in small.trials} < {t.key for t in big.trials}


def test_scripted_file_content_is_part_of_the_key(planbench, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["a\n[PLAN END]"]))
    first = [t.key for t in load(tmp_path, variant(models=["scripted:script.json"])).trials]
    script.write_text(json.dumps({"completions": ["b\n[PLAN END]"], "cycle": True}))
    second = load(tmp_path, variant(models=["scripted:script.json"])).trials
    assert set(first).isdisjoint(t.key for t in second)
    assert second[0].model == "scripted:script.json"  # as written; the worker gets the absolute path
    assert second[0].model_resolved == f"scripted:{script.resolve()}"


def test_default_labels_name_what_differs(planbench, tmp_path):
    data = variant(
        strategies=[
            {"name": "modulo", "n": 4, "constrained": "well-formed"},
            {"name": "modulo", "n": 8, "constrained": "well-formed"},
            {"name": "modulo", "n": 8, "constrained": "well-formed", "feedback": ["none", "all"]},
            {"name": "best-of-n", "n": 8, "constrained": "well-formed"},
            {"name": "direct", "constrained": "well-formed", "label": "zero-shot"},
        ]
    )
    labels = list(dict.fromkeys(t.label for t in load(tmp_path, data).trials))
    assert labels == ["modulo n=4", "modulo n=8", "modulo feedback=none/all n=8", "best-of-n", "zero-shot"]


def test_identical_entries_run_once(planbench, tmp_path, caplog):
    data = variant(
        strategies=[
            {"name": "modulo", "n": 8, "constrained": "well-formed"},
            {
                "name": "modulo",
                "n": 8,
                "constrained": "well-formed",
                "feedback": ["none", "first"],
                "label": "ablation",
            },
        ]
    )
    with caplog.at_level(logging.WARNING):
        sweep = load(tmp_path, data)
    assert len(sweep.trials) == 2 * 2  # 2 instances x (first, none): the second "first" is the first entry's
    assert sweep.duplicates == 2 and sweep.warnings
    assert {t.label for t in sweep.trials if t.feedback == "first"} == {"modulo"}


def test_strategy_specific_options_are_checked(planbench, tmp_path):
    sweep = load(tmp_path, variant(strategies=[{"name": "self-consistency", "k": 5, "constrained": "well-formed"}]))
    assert sweep.trials[0].options == {"constrained": "well-formed", "k": 5}
    with pytest.raises(InputError, match=r"strategies\[0\]\.k: Input should be a valid integer"):
        load(tmp_path, variant(strategies=[{"name": "self-consistency", "k": 2.5, "constrained": "well-formed"}]))


def test_unimportable_strategy_skips_option_checks(planbench, tmp_path, monkeypatch, caplog):
    from llm_modulo import registry

    monkeypatch.setitem(registry.STRATEGIES, "ghost", "llm_modulo.strategies.not_written_yet:Ghost")
    with caplog.at_level(logging.WARNING):
        sweep = load(tmp_path, variant(strategies=[{"name": "ghost", "whatever": 3, "constrained": "well-formed"}]))
    assert sweep.trials[0].options == {"constrained": "well-formed", "whatever": 3}
    assert "does not import" in caplog.text


def test_plain_pddl_folder(planbench, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(planbench / "blocksworld" / "generated_domain.pddl", folder / "domain.pddl")
    for i in (2, 10, 1):
        shutil.copy(planbench / "blocksworld" / "generated_basic_3" / f"instance-{i}.pddl", folder / f"p{i}.pddl")
    data = variant(instance_sets=[{"domain": "pddl", "set": "mine", "count": 3}])
    sweep = load(tmp_path, data)  # the folder is found relative to the config file
    assert [t.instance for t in sweep.trials] == ["mine/p1", "mine/p2", "mine/p10"]
    assert all(Path(t.domain_file) == (folder / "domain.pddl").resolve() for t in sweep.trials)
    data = variant(instance_sets=[{"domain": "blocksworld", "set": str(folder), "ids": ["p10"]}])
    assert [t.problem_file for t in load(tmp_path, data).trials] == [str((folder / "p10.pddl").resolve())]
    with pytest.raises(InputError, match=r"instance_sets\[0\]\.ids\[0\]: no instance 'p7'"):
        load(tmp_path, variant(instance_sets=[{"domain": "pddl", "set": "mine", "ids": ["p7"]}]))


def test_a_folder_of_problems_with_their_own_domains(planbench, tmp_path):
    """Each problem gets the domain file named after it (p1-domain.pddl), never the first one found."""
    folder = tmp_path / "ipc"
    folder.mkdir()
    for i in (1, 2):
        shutil.copy(planbench / "blocksworld" / "generated_domain.pddl", folder / f"p{i}-domain.pddl")
        shutil.copy(planbench / "blocksworld" / "generated_basic_3" / f"instance-{i}.pddl", folder / f"p{i}.pddl")
    sweep = load(tmp_path, variant(instance_sets=[{"domain": "pddl", "set": "ipc", "count": 2}]))
    assert [Path(t.domain_file).name for t in sweep.trials] == ["p1-domain.pddl", "p2-domain.pddl"]
    shutil.copy(folder / "p1.pddl", folder / "p3.pddl")  # a problem with no domain of its own: which one?
    with pytest.raises(InputError, match=r"instance_sets\[0\]\.set: which domain file for p3.pddl\?"):
        load(tmp_path, variant(instance_sets=[{"domain": "pddl", "set": "ipc", "count": 3}]))


def test_shipped_example_config(planbench):
    sweep = load_sweep(REPO / "benchmarks" / "configs" / "planbench_50.toml")
    assert sweep.name == "planbench_50"
    instances = {t.instance for t in sweep.trials}
    assert len(instances) == 100
    assert {t.domain for t in sweep.trials} == {"blocksworld", "mystery_blocksworld"}
    assert {t.strategy for t in sweep.trials} == {
        "direct",
        "self-consistency",
        "self-critique",
        "best-of-n",
        "modulo",
        "search",
    }
    assert {t.model for t in sweep.trials} == {"default", "random"}
    # 100 instances x 2 models x (6 strategies + 3 ablation levels), + zero-shot direct (LLM only)
    assert len(sweep.trials) == 100 * 2 * 9 + 100
    assert {t.budget.samples for t in sweep.trials if t.strategy == "best-of-n"} == {8}
    assert sum(1 for t in sweep.trials if t.domain_options == {"one_shot": False}) == 100
    assert {t.budget.nodes for t in sweep.trials if t.strategy == "search"} == {64}


def test_the_planner_benchmark_config_matches_the_improve_evaluation(planbench):
    from llm_modulo.training import improve

    sweep = load_sweep(REPO / "benchmarks" / "configs" / "planner_planbench.toml")
    assert len(sweep.trials) == 1200 * 2 * 2  # BW 600 + Mystery 600, planner and random, direct and modulo
    base = load_sweep(REPO / "benchmarks" / "configs" / "planner_planbench_base.toml")
    assert len(base.trials) == 400 * 2  # the base model on the first 100 of each set
    assert {t.model for t in sweep.trials} == {"smollm2-135m-planner", "random"}
    assert {t.model for t in base.trials} == {"default"}
    # the base arms are the planner's arms with another model: same instances, options and sampling
    arms = {(t.instance, t.strategy): t for t in sweep.trials if t.model == "random"}
    for t in base.trials:
        twin = arms[(t.instance, t.strategy)]
        assert (t.options, t.domain_options, t.sampling, t.budget) == (
            twin.options,
            twin.domain_options,
            twin.sampling,
            twin.budget,
        )
    direct = [t for t in sweep.trials if t.strategy == "direct"]
    assert {t.sampling.temperature for t in direct} == {0.0}
    # the same trials as improve's evaluation (same keys: an improve eval store can seed this one)
    entries = {e["name"]: e for e in improve.strategy_entries(["direct", "modulo"], 8, 64)}
    for t in sweep.trials[:12] + base.trials[:4]:
        entry = dict(entries[t.strategy])
        assert t.domain_options == entry.pop("domain_options")
        assert t.options == {k: v for k, v in entry.items() if k not in ("name", "budgets", "sampling")}


DOMAIN_OPTIONS = """
name = "shots"
models = ["default"]
[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic_3"
count = 2
[[strategies]]
name = "direct"
constrained = "well-formed"
[[strategies]]
name = "direct"
label = "direct zero-shot"
constrained = "well-formed"
domain_options = { one_shot = false }
"""


def test_domain_options_make_their_own_trials_and_keys(tmp_path, planbench):
    path = tmp_path / "shots.toml"
    path.write_text(DOMAIN_OPTIONS)
    trials = load_sweep(path).trials
    plain = [t for t in trials if not t.domain_options]
    zero = [t for t in trials if t.domain_options]
    assert len(plain) == len(zero) == 2
    assert "domain_options" not in plain[0].config()  # keys without options stay as they were
    assert {t.key for t in plain}.isdisjoint({t.key for t in zero})
    from llm_modulo.experiments.executors import trial_task

    domain, task = trial_task(zero[0])
    assert "[PLAN END]" not in domain.prompt(task).messages[0]["content"]  # no worked example
    domain, task = trial_task(plain[0])
    assert "[PLAN END]" in domain.prompt(task).messages[0]["content"]


def test_unknown_domain_option_names_the_field(tmp_path, planbench):
    path = tmp_path / "bad.toml"
    path.write_text(DOMAIN_OPTIONS.replace("one_shot = false", "shots = 0"))
    with pytest.raises(InputError, match=r"strategies\[1\]\.domain_options: unknown option\(s\) shots"):
        load_sweep(path)


def test_compact_prompts_are_the_training_prompts(tmp_path, planbench):
    path = tmp_path / "compact.toml"
    path.write_text(DOMAIN_OPTIONS.replace("one_shot = false", 'prompt_format = "compact"'))
    trials = load_sweep(path).trials
    compact = [t for t in trials if t.domain_options]
    assert len(compact) == 2 and compact[0].config()["domain_options"] == {"prompt_format": "compact"}
    from llm_modulo.experiments.executors import trial_task
    from llm_modulo.training.chat import training_domain

    domain, task = trial_task(compact[0])
    trained_on = training_domain("blocksworld", "compact").prompt(task)
    assert domain.prompt(task).messages == trained_on.messages
    assert domain.prompt(task).messages[0]["content"].startswith("[STATEMENT]")


@pytest.mark.parametrize(
    ("domain", "value", "message"),
    [
        ("blocksworld", '"short"', "expected 'compact' or 'full'"),
        ("coloring", '"compact"', "no compact prompt"),
        (
            "blocksworld",
            '"compact", cot = true',
            "compact prompts are the problem statement alone, with no chain-of-thought",
        ),
    ],
)
def test_bad_prompt_format_names_the_field(tmp_path, planbench, domain, value, message):
    text = DOMAIN_OPTIONS.replace("one_shot = false", f"prompt_format = {value}")
    if domain != "blocksworld":
        text = text.replace(
            'domain = "blocksworld"\nset = "blocksworld/generated_basic_3"', f'domain = "{domain}"\nset = "study"'
        )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=rf"strategies\[1\]\.domain_options\.prompt_format: {message}"):
        load_sweep(path)
