"""Single versus dual open list for ``search`` on a PlanBench set, with the random proposer.

    python benchmarks/search_queues.py                          # Blocksworld-hard, 110 instances, 2,000 nodes
    python benchmarks/search_queues.py --set blocksworld/generated_basic --count 100 --nodes 500

The dual queue adds a second open list for children reached by FF's helpful actions, popped in
turn with the first and boosted when the best estimate improves (Fast Downward's preferred
operators). Prints certified counts, mean expansions and plan lengths for both, and the ratio of
expansions; every certified plan is re-checked with unified-planning's validator.
"""

from __future__ import annotations

import argparse
import statistics
import time

from llm_modulo.models.random_proposer import RandomProposer
from llm_modulo.registry import load_planning_instance
from llm_modulo.strategies.search import Search
from llm_modulo.types import Budget
from llm_modulo.verifiers.planning.reference import up_validate
from llm_modulo.verifiers.planning.validator import to_ground_action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="blocksworld_hard/generated", help="PlanBench set")
    parser.add_argument("--count", type=int, default=110, help="instances 1..count")
    parser.add_argument("--nodes", type=int, default=2000, help="node budget (expansions)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{args.set}, instances 1-{args.count}, {args.nodes} expansions, random proposer, seed {args.seed}")
    means = {}
    for queues in ("single", "dual"):
        solved, nodes, lengths, up_ok, start = 0, [], [], 0, time.perf_counter()
        for i in range(1, args.count + 1):
            domain, task = load_planning_instance(f"{args.set}/instance-{i}")
            result = Search(
                RandomProposer(seed=args.seed),
                domain,
                seed=args.seed,
                queues=queues,
                budget=Budget(nodes=args.nodes, samples=None, rounds=None),
            ).run(task)
            nodes.append(result.usage.nodes)
            if result.verified:
                solved += 1
                lengths.append(len(result.answer))
                up_ok += up_validate(task.payload.problem, [to_ground_action(s) for s in result.answer])
        means[queues] = statistics.mean(nodes)
        print(
            f"  {queues:6}: certified {solved}/{args.count} (UP agrees on {up_ok}), mean expansions "
            f"{means[queues]:.1f}, mean plan length {statistics.mean(lengths) if lengths else float('nan'):.1f}, "
            f"{time.perf_counter() - start:.0f} s"
        )
    print(f"  expansions single/dual: {means['single'] / means['dual']:.1f}x")


if __name__ == "__main__":
    main()
