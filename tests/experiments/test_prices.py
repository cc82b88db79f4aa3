"""Price tables: parsing, lookup, precedence, and the sweep config's [prices] table."""

from __future__ import annotations

import pytest

from llm_modulo.errors import InputError
from llm_modulo.experiments.config import load_sweep
from llm_modulo.experiments.prices import Price, load_prices, merged_prices, parse_prices, price_for


def test_price_cost_and_lookup():
    prices = {"gpt-4o-mini": Price(0.15, 0.60)}
    assert price_for("openai:http://localhost:8000/v1/gpt-4o-mini", prices) is prices["gpt-4o-mini"]
    assert price_for("default", prices) is None
    assert prices["gpt-4o-mini"].cost(1_000_000, 500_000) == pytest.approx(0.45)
    assert prices["gpt-4o-mini"].cost(None, 10) is None  # unknown tokens: no money, not zero


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"m": {"input": -1, "output": 1}}, "not a price"),
        ({"m": {"input": 1}}, "output"),
        ({"m": {"input": 1, "output": 1, "currency": "EUR"}}, "unknown field"),
        ({"m": 3}, "give a table"),
        ({"m": {"input": True, "output": 1}}, "not a price"),
    ],
)
def test_bad_tables(table, message):
    with pytest.raises(InputError, match=message):
        parse_prices(table, "t.toml")


def test_files_and_precedence(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[prices."m"]\ninput = 1\noutput = 2\n', encoding="utf-8")
    user = load_prices(path)
    meta = {"prices": {"m": {"input": 9, "output": 9}, "n": {"input": 3, "output": 4}}}
    merged = merged_prices(meta, user)
    assert (merged["m"].input, merged["n"].output) == (1.0, 4.0)
    path.write_text("[prices\n", encoding="utf-8")
    with pytest.raises(InputError, match="not TOML"):
        load_prices(path)
    with pytest.raises(InputError, match="not found"):
        load_prices(tmp_path / "none.toml")


SWEEP = """
name = "s"
models = ["random"]
[[instance_sets]]
domain = "blocksworld"
set = "blocksworld/generated_basic_3"
count = 1
[[strategies]]
name = "direct"
[prices."gpt-4o"]
input = 2.5
output = {output}
"""


def test_sweep_prices_table(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(SWEEP.replace("{output}", "10"), encoding="utf-8")
    sweep = load_sweep(good)
    assert sweep.config.prices["gpt-4o"]["output"] == 10
    plain = tmp_path / "plain.toml"
    plain.write_text(SWEEP.split("[prices")[0], encoding="utf-8")
    assert [t.key for t in load_sweep(plain).trials] == [t.key for t in sweep.trials]  # prices are not a setting
    bad = tmp_path / "bad.toml"
    bad.write_text(SWEEP.replace("{output}", '"ten"'), encoding="utf-8")
    with pytest.raises(InputError, match="prices"):
        load_sweep(bad)
