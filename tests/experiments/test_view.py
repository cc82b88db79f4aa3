"""``llm-modulo view``: the HTML of a modulo trial, a search trial, an arm's list and a result file,
escaped and self-contained; the CLI's bad input. Stores are built from real runs of the scripted
model and the random control on the package's own Blocksworld problems (no PlanBench data, no model)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SUSSMAN_PLAN as PLAN
from typer.testing import CliRunner

from llm_modulo import Budget, RandomProposer, Result, ScriptedModel
from llm_modulo.cli import app
from llm_modulo.domains.blocksworld import DATA, SUSSMAN
from llm_modulo.experiments.store import TrialStore
from llm_modulo.experiments.view import write_view
from llm_modulo.registry import load_task
from llm_modulo.strategies.modulo import Modulo
from llm_modulo.strategies.search import Search

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
EXAMPLE = DATA / "blocksworld" / "example-1.pddl"


def modulo_result() -> Result:
    """Two rounds on the Sussman anomaly: an inapplicable step after three good ones, and a sample that
    tries to inject HTML; then the rest of the plan from the valid prefix kept."""
    domain, task = load_task(str(SUSSMAN), "blocksworld")

    def script(prompt: Any, n: int) -> list[str]:
        if "Please" not in prompt.render_plain():  # round 1: no critique yet
            return ["\n".join([*PLAN[:3], "pick up the red block"]) + "\n[PLAN END]", XSS + "\n[PLAN END]"]
        done = [line for line in prompt.prefill.splitlines() if line in PLAN]
        return ["\n".join(PLAN[len(done) :]) + "\n[PLAN END]"] * n

    return Modulo(ScriptedModel(script), domain, budget=Budget(rounds=4, samples=16), n=2, feedback="all").run(task)


def search_result() -> Result:
    """Search on a 4-block problem, by goal count, then the random control's scores: 17 expansions, 2 pruned."""
    domain, task = load_task(str(EXAMPLE), "blocksworld")
    search = Search(RandomProposer(seed=4), domain, seed=4, heuristic="goal-count", model_share=float("inf"))
    return search.run(task)


def row_of(result: Result | None, *, label: str, instance: str, seed: int = 0, **kw: Any) -> dict[str, Any]:
    """A store row as the runner writes it (:func:`llm_modulo.experiments.worker.make_row`)."""
    config = {"domain": "blocksworld", "instance": instance, "strategy": kw.get("strategy", label), "seed": seed}
    config.update(kw.pop("config", {}))
    config_json = json.dumps({**config, "label": label}, sort_keys=True)
    budget = {"rounds": 4, "samples": 16, "tokens": None, "seconds": None, "nodes": None}
    row: dict[str, Any] = {
        "key": hashlib.sha256(config_json.encode()).hexdigest(),
        "sweep": "viewer",
        "label": label,
        "domain": "blocksworld",
        "instance_set": "blocksworld/own",
        "instance": instance,
        "strategy": config["strategy"],
        "model": kw.pop("model", "scripted"),
        "proposer": "llm",
        "feedback": "all",
        "seed": seed,
        "budget_json": json.dumps(budget),
        "config_json": config_json,
        "seconds": 0.05,
        "worker": "test:1",
        "finished_at": f"2025-01-01T00:00:{seed % 60:02d}Z",
    }
    if result is None:
        row.update(status="error", verified=0, error=kw.pop("error", "ModelError: <b>gone</b>"), result_json=None)
    else:
        u = result.usage
        row.update(
            status=kw.pop("status", result.status.value),
            verified=int(result.verified),
            rounds=u.rounds,
            samples=u.samples,
            llm_calls=u.llm_calls,
            nodes=u.nodes,
            prompt_tokens=u.prompt_tokens,
            generated_tokens=u.generated_tokens,
            result_json=result.model_dump_json(),
        )
    row.update(kw)
    return row


def build_store(path: Path, arm_size: int = 0) -> Path:
    """A modulo trial, a search trial, an error, and (``arm_size``) a big arm of copies in four statuses."""
    modulo, search = modulo_result(), search_result()
    with TrialStore(path) as store:
        store.insert(row_of(modulo, label="modulo", instance=str(SUSSMAN)))
        store.insert(row_of(search, label="search", instance=str(EXAMPLE), model="random"))
        store.insert(row_of(None, label="modulo", instance=str(EXAMPLE)))
        statuses = ("verified", "exhausted", "failed", "error")
        for i in range(arm_size):
            status = statuses[i % 4]
            result = modulo if status != "error" else None
            fields = {"status": status, "verified": int(status == "verified")} if result else {}
            store.insert(row_of(result, label="big", instance=f"sussman-{i}", seed=i, **fields))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("view") / "trials.sqlite", arm_size=8)


def key_of(store: Path, label: str) -> str:
    with TrialStore(store, readonly=True) as s:
        return next(r["key"] for r in s.rows() if r["label"] == label and r["status"] != "error")


def no_network(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "a page must load nothing"
    assert "@import" not in html and "url(http" not in html


def test_modulo_trial_page_shows_rounds_critiques_prefix_certificate_and_recheck(store, tmp_path):
    files = write_view(store, tmp_path / "modulo.html", trial=key_of(store, "modulo")[:10])
    html = files.main.read_text()
    no_network(html)
    assert "Round 1" in html and "Round 2" in html
    assert "the hand is not empty" in html.lower() or "inapplicable" in html  # the critique of the bad step
    assert 'class="backprompt"' in html and "Please give a corrected plan" in html
    assert 'class="prefix"' in html and "\n".join(PLAN[:3]) in html  # the valid prefix kept
    assert "<h3>Certificate</h3>" in html and "r-agreed" in html  # certified, and the reference check agrees
    assert XSS not in html and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "<script>" not in html  # a trial page needs no script at all


def test_search_trial_page_has_the_tree_scores_estimates_pruned_and_path(store, tmp_path):
    html = write_view(store, tmp_path, trial=key_of(store, "search")).main.read_text()
    no_network(html)
    assert html.count('<li class="node') == search_result().usage.nodes
    assert "pruned: state already reached" in html
    assert '<span class="score">lp -' in html and '<span class="est">h 1' in html and "model ranked" in html
    assert "Path to the goal" in html and "onpath" in html and html.count("goal: certified by the critics") == 1
    assert "r-agreed" in html


def test_arm_index_lists_every_trial_and_links_to_its_page(store, tmp_path):
    files = write_view(store, tmp_path / "all")
    assert files.trials == 11
    html = files.main.read_text()
    no_network(html)
    links = re.findall(r'href="(trials/[^"]+)"', html)
    assert len(links) == 11 and all((tmp_path / "all" / link).is_file() for link in links)
    assert html.count("<tr data-status=") == 11 and 'id="arm-filter"' in html
    error_page = (
        tmp_path
        / "all"
        / links[[i for i, m in enumerate(re.findall(r"data-status=\"(\w+)\"", html)) if m == "error"][0]]
    ).read_text()
    assert "&lt;b&gt;gone&lt;/b&gt;" in error_page  # errors are escaped too
    one_arm = write_view(store, tmp_path / "big", arm="big", with_recheck=False)
    assert one_arm.trials == 8 and 'id="arm-filter"' not in one_arm.main.read_text()


def test_a_solve_json_result_file_is_one_page(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(modulo_result().model_dump_json(indent=2))
    files = write_view(path, with_recheck=False)
    assert files.main == tmp_path / "result.html" and "Round 2" in files.main.read_text()


def test_cli_writes_pages_and_bad_input_is_one_line_exit_2(store, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["view", str(store), "--arm", "search", "-o", str(tmp_path / "s")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "s" / "index.html").is_file()
    for args in (
        [str(tmp_path / "missing.sqlite")],
        [str(store), "--trial", "zzzz"],
        [str(store), "--arm", "no such arm"],
        [str(store), "--trial", "", "-o", str(tmp_path / "x.html")],  # every key starts with ""
    ):
        bad = runner.invoke(app, ["view", *args])
        assert bad.exit_code == 2, (args, bad.output)
        assert bad.output.strip().startswith("error:") and len(bad.output.strip().splitlines()) == 1
