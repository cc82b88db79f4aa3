"""Money: a price table (USD per million prompt and generated tokens, per model) and what a trial cost.

Prices are never stored in a trial: tokens are the measurement, prices change. ``report`` prices
each trial from, in rising precedence, the prices an import found in a PlanBench file (the store's
``prices`` meta), the sweep config's ``[prices]`` table and ``--prices FILE``:

    [prices."openai:http://localhost:8000/v1/gpt-4o-mini"]   # a model spec as the sweep names it
    input = 0.15     # USD per million prompt tokens
    output = 0.60    # USD per million generated tokens

A model without a price has no money figure ("–"), never zero: a local model's cost is its seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from llm_modulo.errors import InputError


@dataclass(frozen=True)
class Price:
    input: float  # USD per million prompt tokens
    output: float  # USD per million generated tokens
    source: str = ""

    def cost(self, prompt_tokens: Any, generated_tokens: Any) -> float | None:
        """USD for one trial's tokens; None where a count is unknown."""
        if prompt_tokens is None or generated_tokens is None:
            return None
        return (float(prompt_tokens) * self.input + float(generated_tokens) * self.output) / 1e6


def parse_prices(table: Any, source: str) -> dict[str, Price]:
    """``{model: {input, output}}`` checked; :class:`InputError` naming ``source`` and the entry otherwise."""
    if not isinstance(table, dict):
        raise InputError(f"{source}: prices must be a table of models, each with input and output")
    prices = {}
    for model, entry in table.items():
        if not isinstance(entry, dict):
            raise InputError(f"{source}: prices.{model}: give a table with input and output (USD per million tokens)")
        unknown = set(entry) - {"input", "output", "source"}
        if unknown:
            raise InputError(f"{source}: prices.{model}: unknown field(s) {', '.join(sorted(unknown))}")
        values = []
        for side in ("input", "output"):
            value = entry.get(side)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InputError(f"{source}: prices.{model}.{side}: {value!r} is not a price (USD per million tokens)")
            values.append(float(value))
        prices[str(model)] = Price(values[0], values[1], str(entry.get("source") or source))
    return prices


def load_prices(path: str | Path) -> dict[str, Price]:
    """A TOML price table: ``[prices."<model>"]`` tables (or the same tables at the top level)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"price table not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the price table {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not TOML: {exc}") from None
    return parse_prices(doc.get("prices", doc), str(path))


def price_for(model: str, prices: dict[str, Price]) -> Price | None:
    """The price of ``model``: its spec exactly, else its name (an ``openai:<url>/<name>`` spec's last part)."""
    if model in prices:
        return prices[model]
    name = model.rsplit("/", 1)[-1] if model.startswith("openai:") else model
    return prices.get(name)


def sweep_prices(meta: dict[str, Any]) -> dict[str, Price]:
    """The ``[prices]`` tables of the sweep configs a store keeps (``sweep/<name>/config`` meta)."""
    found: dict[str, Price] = {}
    for key, value in sorted(meta.items()):
        if not (key.startswith("sweep/") and key.endswith("/config") and isinstance(value, dict)):
            continue
        text, fmt = value.get("text"), value.get("format")
        try:
            if fmt == "toml":
                doc = tomllib.loads(str(text))
            else:
                import yaml

                doc = yaml.safe_load(str(text))
        except Exception:  # noqa: BLE001 - a stored config the report cannot read has no prices
            continue
        if isinstance(doc, dict) and isinstance(doc.get("prices"), dict):
            found.update(parse_prices(doc["prices"], f"{value.get('path') or key} [prices]"))
    return found


def merged_prices(meta: dict[str, Any], user: dict[str, Price] | None = None) -> dict[str, Price]:
    """Imported prices < the sweep configs' [prices] < the user's table."""
    stored = meta.get("prices")
    prices = parse_prices(stored, "the store's prices") if isinstance(stored, dict) else {}
    prices.update(sweep_prices(meta))
    prices.update(user or {})
    return prices


def prices_json(prices: dict[str, Price]) -> str:
    return json.dumps({m: p.__dict__ for m, p in sorted(prices.items())}, sort_keys=True)


__all__ = ["Price", "load_prices", "merged_prices", "parse_prices", "price_for", "prices_json", "sweep_prices"]


def add_cost(result: Any, model: str, prices: dict[str, Price]) -> None:
    """Put a run's money in ``result.info`` (``cost_usd``, ``price``) from its tokens and ``model``'s
    price; ``cost_usd`` is None, with the reason, when ``prices`` has no entry for the model."""
    price = price_for(model, prices)
    if price is None:
        result.info["cost_usd"] = None
        result.info["price"] = f"no price for {model!r}"
        return
    usage = result.usage
    result.info["cost_usd"] = price.cost(usage.prompt_tokens, usage.generated_tokens)
    result.info["price"] = {"input": price.input, "output": price.output, "source": price.source}
