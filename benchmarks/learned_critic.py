"""Train and measure the learned soft critic (issue 23, part 4): calls to certify, learned vs log-probability vs random.

    # sample n candidates per generated problem (never a test instance), label them with the plan
    # validator, and keep each candidate's features and log-probability (resumable: appends per problem)
    python benchmarks/learned_critic.py collect --count 100 --out /tmp/lc/data.jsonl
    # fit the head on the first --train problems; measure on the rest
    python benchmarks/learned_critic.py measure --data /tmp/lc/data.jsonl --train 60 --head /tmp/lc/head.json

One stream of problems (one seed, unique up to renaming, test instances dropped) is split: the first
``--train`` problems train the head, the rest are held out. "Calls to certify" is the number of
candidates the plan validator checks, in the ranking's order, before the first certified one (the
best-of-n loop with ``rank``); a problem with no certified candidate among its n costs n calls and
counts as unsolved.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("learned_critic")


def collect(args: argparse.Namespace) -> None:
    import torch

    from llm_modulo.models import load_model
    from llm_modulo.protocols import SamplingParams
    from llm_modulo.strategies.base import judge
    from llm_modulo.strategies.options import answer_token_cap
    from llm_modulo.training.chat import training_domain
    from llm_modulo.training.soft_critic import candidate_features
    from llm_modulo.types import certified

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    done = {json.loads(line)["problem"] for line in out.read_text().splitlines()} if out.exists() else set()
    model = load_model(args.model, seed=args.seed)
    domain = training_domain("blocksworld", "compact")
    for index, (name, domain_file, problem_file) in enumerate(_sources(args)):
        if name in done or index % args.shards != args.shard:
            continue
        started = time.perf_counter()
        task = domain.load_files(domain_file, problem_file, task_id=name)
        prompt = domain.prompt(task)
        constraint = domain.constraint(task, prefix="", executable=args.grammar == "executable")
        params = SamplingParams(temperature=1.0, top_p=0.95, seed=args.seed * 100_003 + index,
                                max_tokens=answer_token_cap(None, domain, task))  # fmt: skip
        texts = [c.text for c in model.sample(prompt, args.n, params, constraint=constraint).completions]
        scored = candidate_features(model, prompt, texts)
        with out.open("a") as fh:
            for k, (text, s) in enumerate(zip(texts, scored, strict=True)):
                ok = certified(judge(domain, task, prompt.prefill + text)[1])
                row = {"problem": name, "index": index, "k": k, "text": text,
                       "certified": ok, "logprob": s.logprob, "tokens": s.tokens, "features": s.features}  # fmt: skip
                fh.write(json.dumps(row) + "\n")
        log.info("%s: %.1f s", name, time.perf_counter() - started)


def _sources(args: argparse.Namespace) -> list[tuple[str, Path, Path]]:
    """(name, domain file, problem file) of each problem: generated (never a test instance), or with
    ``--planbench`` the first PlanBench Blocksworld instances (for evaluation only)."""
    from llm_modulo.domains.blocksworld.generate import blocksworld_problems, write_blocksworld
    from llm_modulo.domains.planning.instances import resolve_instance

    if args.planbench:
        names = [f"blocksworld/generated_basic/instance-{i}" for i in range(2, 2 + args.planbench)]
        return [(name, *resolve_instance(name)) for name in names]
    problems = list(blocksworld_problems(args.count, seed=args.seed, min_blocks=args.min_blocks,
                                         max_blocks=args.max_blocks))  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="learned-critic-"))
    paths = write_blocksworld(problems, folder)
    return [(p.name, folder / "domain.pddl", path) for p, path in zip(problems, paths, strict=True)]


def _problems(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by.setdefault(row["index"], []).append(row)
    return [sorted(by[i], key=lambda r: r["k"]) for i in sorted(by)]


def calls(order: list[dict[str, Any]]) -> tuple[int, bool]:
    """(validator calls until the first certified candidate in ``order``, found?)."""
    for i, row in enumerate(order, 1):
        if row["certified"]:
            return i, True
    return len(order), False


def interval(values: list[float], seed: int = 0, draws: int = 2000) -> tuple[float, float, float]:
    """(mean, 2.5%, 97.5%) by the percentile bootstrap over problems."""
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(draws))
    return statistics.fmean(values), means[int(0.025 * draws)], means[int(0.975 * draws) - 1]


def measure(args: argparse.Namespace) -> None:
    from llm_modulo.training.soft_critic import fit_head

    rows = [json.loads(line) for path in args.data.split(",") for line in Path(path).read_text().splitlines()]
    groups = _problems(rows)
    card = {"model": args.model, "data": str(args.data),
            "features": "last hidden state mean-pooled over the candidate, mean token log-prob, log length"}  # fmt: skip
    rng = random.Random(args.seed)
    # folds > 1: each problem is scored by a head fitted on the other folds' problems (cross-validation
    # by problem, for small data); else the first --train problems train one head and the rest are held out
    folds = [list(range(i, len(groups), args.folds)) for i in range(args.folds)] if args.folds > 1 else \
        [list(range(args.train, len(groups)))]  # fmt: skip
    held: list[list[dict[str, Any]]] = []
    orders: dict[str, list[list[dict[str, Any]]]] = {"sampled": [], "random": [], "logprob": [], "learned": []}
    # "random" is one seeded shuffle (what rank="random" does); "random (expected)" below averages every order
    tests = [groups[i] for i in range(len(groups))]
    if args.eval:  # one head on every --data problem, measured on the --eval problems
        tests = _problems(
            [json.loads(line) for path in args.eval.split(",") for line in Path(path).read_text().splitlines()]
        )
        folds = [list(range(len(tests)))]
    for fold in folds:
        train = [g for i, g in enumerate(groups) if args.eval or (i not in fold and (args.folds > 1 or i < args.train))]
        flat = [r for g in train for r in g]
        head = fit_head([r["features"] for r in flat], [r["certified"] for r in flat],
                        weight_decay=args.weight_decay, card={**card, "train_problems": len(train)})  # fmt: skip
        for group in (tests[i] for i in fold):
            p = head.probabilities([r["features"] for r in group])
            held.append(group)
            orders["sampled"].append(group)
            orders["random"].append(rng.sample(group, len(group)))
            orders["logprob"].append(sorted(group, key=lambda r: -r["logprob"]))
            orders["learned"].append([r for _, r in sorted(zip(p, group, strict=True), key=lambda x: -x[0])])
    if args.head:  # the shipped head: fitted on every problem
        flat = [r for g in groups for r in g]
        every = fit_head([r["features"] for r in flat], [r["certified"] for r in flat],
                         weight_decay=args.weight_decay, card={**card, "train_problems": len(groups)})  # fmt: skip
        log.info("head written to %s", every.save(args.head))
    solvable = [i for i, g in enumerate(held) if any(r["certified"] for r in g)]
    n = len(held[0]) if held else 0
    print(f"held-out problems: {len(held)} ({len(solvable)} with a certified candidate among {n}); "
          f"candidates certified: {sum(r['certified'] for g in held for r in g)}/{sum(len(g) for g in held)}; "
          f"folds: {len(folds)}")  # fmt: skip
    ks = (1, 2, 4)
    # per problem: (calls, solved within k for each k); the random control is its exact expectation
    # over every order: first certified at (n+1)/(c+1) with c certified of n, within k w.p. 1 - C(n-c,k)/C(n,k)
    table: dict[str, list[tuple[float, list[float]]]] = {}
    for name, ordered in orders.items():
        table[name] = [(float(c), [1.0 if ok and c <= k else 0.0 for k in ks]) for c, ok in map(calls, ordered)]
    table["random (expected)"] = [_expected(g, ks) for g in held]
    print("| order | mean calls (all, unsolved = n) [95%] | mean calls (solvable) [95%] | "
          + " | ".join(f"certified within {k} [95%]" for k in ks) + " |")  # fmt: skip
    print("|---|---|---|" + "---|" * len(ks))
    for name, costs in table.items():
        every = interval([c for c, _ in costs])
        solv = interval([costs[i][0] for i in solvable]) if solvable else (float("nan"),) * 3
        within = [interval([w[j] for _, w in costs]) for j in range(len(ks))]
        cells = [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in (every, solv)]
        cells += [f"{100 * m:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]" for m, lo, hi in within]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name in ("logprob", "random (expected)", "sampled"):
        diff = [a[0] - b[0] for a, b in zip(table["learned"], table[name], strict=True)]
        m, lo, hi = interval(diff)
        print(f"learned - {name}: {m:+.2f} calls [{lo:+.2f}, {hi:+.2f}] (paired bootstrap over problems)")


def _expected(group: list[dict[str, Any]], ks: tuple[int, ...]) -> tuple[float, list[float]]:
    n, c = len(group), sum(1 for r in group if r["certified"])
    if c == 0:
        return float(n), [0.0 for _ in ks]
    return (n + 1) / (c + 1), [1.0 - math.comb(n - c, k) / math.comb(n, k) if k <= n else 1.0 for k in ks]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--seed", type=int, default=23)
    c.add_argument("--n", type=int, default=8)
    c.add_argument("--min-blocks", type=int, default=4)
    c.add_argument("--max-blocks", type=int, default=5)
    c.add_argument("--planbench", type=int, default=0, help="the first N PlanBench Blocksworld instances instead")
    c.add_argument("--grammar", choices=("well-formed", "executable"), default="well-formed")
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--shard", type=int, default=0, help="collect only problems with index %% shards == shard")
    c.add_argument("--shards", type=int, default=1)
    c.add_argument("--out", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--data", required=True, help="the collected files, comma-separated")
    m.add_argument("--train", type=int, default=60)
    m.add_argument("--eval", default="", help="held-out files (comma-separated): the head trains on all of --data")
    m.add_argument("--folds", type=int, default=0, help="cross-validate by problem over this many folds")
    m.add_argument("--weight-decay", type=float, default=1e-2)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--head", default="")
    for p in (c, m):
        p.add_argument("--model", default="smollm2-135m-planner")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.cmd == "collect":
        collect(args)
    else:
        missing = [p for p in f"{args.data},{args.eval}".strip(",").split(",") if not Path(p).is_file()]
        if missing:
            print(f"error: no data file {missing[0]}", file=sys.stderr)
            return 2
        measure(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
