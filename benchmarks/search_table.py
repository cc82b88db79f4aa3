"""The `search` strategy's figures per PlanBench set: LLM vs the random control, UP re-check.

Reads a store filled by `llm-modulo bench benchmarks/configs/search_planbench.toml` (and
`search_hard.toml`) and prints one Markdown row per (set, proposer): solved with a 95%
Wilson interval, mean expansions, LLM calls / scored tokens / prompt tokens read / generated
tokens per solved instance, seconds per instance, and how many verified plans
unified-planning's validator re-checked and accepted.

    python benchmarks/search_table.py runs/search.sqlite
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

from llm_modulo.experiments.recheck import recheck_trials
from llm_modulo.experiments.report import load_trials
from llm_modulo.experiments.stats import wilson_interval as wilson

GROUPS = {  # instance set -> the published set it belongs to
    "blocksworld/generated_basic_3": "Blocksworld (600)",
    "blocksworld/generated_basic": "Blocksworld (600)",
    "blocksworld/mystery/generated_basic_3": "Mystery Blocksworld (600)",
    "blocksworld/mystery/generated_basic": "Mystery Blocksworld (600)",
    "blocksworld_hard/generated": "Blocksworld-hard (110)",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--no-recheck", action="store_true", help="skip the unified-planning re-check")
    args = ap.parse_args()
    trials = [
        t for t in load_trials(args.store, with_result=True) if t["strategy"] == "search" and t["status"] != "error"
    ]
    cells: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for t in trials:
        queues = json.loads(t["config_json"]).get("options", {}).get("queues", "single")
        cells[(GROUPS.get(t["instance_set"], t["instance_set"]), queues, t["proposer"])].append(t)
    print(
        "| set | queues | proposer | solved | 95% CI | expansions (mean) | LLM calls / solved | scored tokens / solved "
        "| prompt tokens read / solved | generated tokens / solved | s / instance | UP re-check |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    false_total = 0
    for (group, queues, proposer), rows in sorted(cells.items()):
        solved = [r for r in rows if r["verified"]]
        lo, hi = wilson(len(solved), len(rows))
        usage = [json.loads(r["result_json"])["usage"] for r in solved]
        per = lambda k, usage=usage: sum(u.get(k, 0) for u in usage) / max(1, len(usage))  # noqa: E731
        nodes = sum(r["nodes"] or 0 for r in rows) / len(rows)
        secs = sum(r["seconds"] or 0 for r in rows) / len(rows)
        check = "skipped"
        if not args.no_recheck:
            rc = recheck_trials(solved)
            false_total += len(rc.false_verified)
            check = f"{rc.agreed}/{rc.checked} agree"
        print(
            f"| {group} | {queues} | {proposer} | {len(solved)}/{len(rows)} ({100 * len(solved) / len(rows):.1f}%) "
            f"| {100 * lo:.1f}-{100 * hi:.1f}% | {nodes:.1f} | {per('llm_calls'):.1f} | {per('scored_tokens'):.0f} "
            f"| {per('prompt_tokens'):.0f} | {per('generated_tokens'):.0f} | {secs:.2f} | {check} |"
        )
    if not args.no_recheck:
        print(f'\nfalse "verified" (the UP validator rejects a plan the store calls verified): {false_total}')


if __name__ == "__main__":
    main()
