"""Solve the Sussman anomaly with the embedded model and print the certified plan.

python examples/solve_sussman.py [--model random]
"""

from __future__ import annotations

import argparse

import llm_modulo as lm
from llm_modulo.domains.blocksworld import blocksworld, sussman_anomaly


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None, help="model spec (default: embedded SmolLM2-135M)")
    args = ap.parse_args()
    domain = blocksworld()
    task = sussman_anomaly(domain)
    model = lm.load_model(args.model, seed=0)
    # the defaults: 16 samples a round, decoding held to executable steps, the first error fed back,
    # each round continuing from the best candidate's valid prefix
    strategy = lm.Modulo(model, domain, budget=lm.Budget(rounds=10))
    result = strategy.run(task)
    print(result.status.value)
    for name, objects in result.answer or []:
        print(" ", domain.render_action(name, objects))


if __name__ == "__main__":
    main()
