"""solve --prices: the run's money from its tokens and the model's price (none without a price)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from llm_modulo.cli import app

runner = CliRunner()


def test_solve_reports_the_runs_cost(planbench, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text("[prices.random]\ninput = 1.0\noutput = 2.0\n")
    args = ["solve", "--instance", "blocksworld/generated_basic/instance-2", "--model", "random", "--json"]
    result = runner.invoke(app, [*args, "--prices", str(prices)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    usage = doc["usage"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["generated_tokens"] * 2.0) / 1e6
    assert doc["info"]["cost_usd"] == expected > 0
    prices.write_text('[prices."some-other-model"]\ninput = 1.0\noutput = 2.0\n')
    doc = json.loads(runner.invoke(app, [*args, "--prices", str(prices)]).stdout)
    assert doc["info"]["cost_usd"] is None and "no price" in doc["info"]["price"]  # never a made-up zero


def test_a_bad_price_table_is_one_line_and_exit_2(planbench, tmp_path):
    bad = tmp_path / "prices.toml"
    bad.write_text("[prices.random]\ninput = -1\noutput = 2\n")
    result = runner.invoke(
        app,
        ["solve", "--instance", "blocksworld/generated_basic/instance-2", "--model", "random", "--prices", str(bad)],
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "input" in result.stderr
