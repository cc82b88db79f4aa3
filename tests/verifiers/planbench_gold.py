"""PlanBench gold plans, in PDDL object names, for the plan-validator tests and benchmark.

PlanBench's Blocksworld prompts write gold plans with colour names ("(unstack yellow orange)");
``configs/<set>.yaml`` maps PDDL objects to them ("d": "yellow block"), and that map is
inverted here. Mystery Blocksworld and Logistics gold plans already use PDDL names.
Blocksworld-hard gold plans come from ``blocksworld_hard/info.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

# set name -> (prompt set, config, domain file, instance folder)
PROMPT_SETS = {
    "blocksworld": ("blocksworld", "blocksworld/generated_domain.pddl", "blocksworld/generated_basic"),
    "blocksworld_3": ("blocksworld_3", "blocksworld/generated_domain.pddl", "blocksworld/generated_basic_3"),
    "mystery_blocksworld": (
        "mystery_blocksworld",
        "blocksworld/mystery/generated_domain.pddl",
        "blocksworld/mystery/generated_basic",
    ),
    "mystery_blocksworld_3": (
        "mystery_blocksworld_3",
        "blocksworld/mystery/generated_domain.pddl",
        "blocksworld/mystery/generated_basic_3",
    ),
    "logistics": ("logistics", "logistics/generated_domain.pddl", "logistics/generated_basic"),
}
HARD = ("blocksworld_hard/generated_domain.pddl", "blocksworld_hard/generated", "blocksworld_hard/info.json")
SETS = [*PROMPT_SETS, "blocksworld_hard"]


@dataclass(frozen=True)
class GoldCase:
    set_name: str
    instance_id: int
    domain: Path
    problem: Path
    plan_text: str  # one "(action obj ...)" per line, PDDL object names

    @property
    def id(self) -> str:
        return f"{self.set_name}-{self.instance_id}"


def _object_names(planbench: Path, config: str) -> dict[str, str]:
    """Rendered name -> PDDL name, for configs whose objects are single words ("red block" -> "a")."""
    cfg = yaml.safe_load((planbench / "configs" / f"{config}.yaml").read_text())
    out = {}
    for pddl_name, rendered in cfg.get("encoded_objects", {}).items():
        words = str(rendered).split()
        if len(words) == 2 and words[1] == "block":
            out[words[0]] = pddl_name
    return out


def _rename(plan_text: str, names: dict[str, str]) -> str:
    if not names:
        return plan_text
    return re.sub(r"[^\s()]+", lambda m: names.get(m.group(0), m.group(0)), plan_text)


def gold_cases(planbench: Path, set_name: str, limit: int | None = None) -> Iterator[GoldCase]:
    """Gold cases of one set, in instance order (at most ``limit``)."""
    count = 0
    if set_name == "blocksworld_hard":
        domain, folder, info = (planbench / p for p in HARD)
        plans = json.loads(info.read_text())
        for fname in sorted(plans, key=lambda f: int(re.findall(r"\d+", f)[0])):
            if limit is not None and count >= limit:
                return
            count += 1
            yield GoldCase(set_name, int(re.findall(r"\d+", fname)[0]), domain, folder / fname, plans[fname]["plan"])
        return
    config, domain, folder = PROMPT_SETS[set_name]
    names = _object_names(planbench, config)
    data = json.loads((planbench / "prompts" / config / "task_1_plan_generation.json").read_text())
    for inst in data["instances"]:
        if limit is not None and count >= limit:
            return
        count += 1
        iid = int(inst["instance_id"])
        yield GoldCase(
            set_name,
            iid,
            planbench / domain,
            planbench / folder / f"instance-{iid}.pddl",
            _rename(inst["ground_truth_plan"], names),
        )


def all_gold_cases(planbench: Path, limit_per_set: int | None = None) -> list[GoldCase]:
    return [c for s in SETS for c in gold_cases(planbench, s, limit_per_set)]
