"""``improve``: the expert-iteration loop end to end on a tiny random base, and its resumption."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from llm_modulo.errors import InputError
from llm_modulo.experiments.store import TrialStore
from llm_modulo.training import improve, targets

pytest.importorskip("peft")


def _config(base: Path, **overrides: Any) -> improve.ImproveConfig:
    settings: dict[str, Any] = dict(
        domain="blocksworld", rounds=1, base=str(base), problems=3, min_blocks=3, max_blocks=4, data="expert",
        sample_strategy="search", sample_n=4, sample_nodes=200, sample_heuristic="goal-count", max_tokens=48,
        eval_count=1, eval_strategies=["direct", "search"], eval_nodes=32, epochs=1.0, lr=1e-2, rank=2, alpha=4,
        batch_size=2, max_len=512, max_steps=2, workers=1, threads=1,
    )  # fmt: skip
    settings.update(overrides)
    return improve.ImproveConfig(**settings)


def test_one_round_samples_trains_and_evaluates(tiny_base: Path, tmp_path: Path, one_thread: Any) -> None:
    cfg = _config(tiny_base)
    out = tmp_path / "run"
    rows = improve.run_improve(cfg, out, progress=False)

    # the certified samples of the model's own search on the round's new problems are the training data
    expert = targets.read_jsonl(out / "round-1" / "expert.jsonl")
    assert expert and all(r["source"] == "expert" and r["strategy"] == "search" for r in expert)
    problems = {r["problem_hash"] for r in targets.read_jsonl(out / "round-1" / "data" / "train.jsonl")}
    assert {r["problem_hash"] for r in expert} <= problems
    assert (out / "round-1" / "adapter" / "adapter_model.safetensors").is_file()

    # round 0 (base), the random control (-1) and round 1, on every held-out set, with each strategy
    sets = {s for _, s in improve.EVAL_SETS["blocksworld"]}
    seen = {(r.round, r.instance_set, r.strategy) for r in rows}
    assert seen == {(k, s, st) for k in (-1, 0, 1) for s in sets for st in ("direct", "search")}
    assert all(r.trials == 1 for r in rows)
    assert all(
        r.executable is not None and 0.0 <= (r.executable_prefix or 0.0) <= 1.0 for r in rows if r.strategy == "direct"
    )
    with TrialStore(out / "eval.sqlite", readonly=True) as db:
        stored = list(db.rows(sweep="eval"))
    assert len(stored) == 3 * 4 * 2
    compact = [json.loads(r["config_json"]) for r in stored]
    assert all(c["domain_options"] == {"prompt_format": "compact"} for c in compact)
    assert {c["sampling"]["temperature"] for c in compact if c["strategy"] == "direct"} == {
        0.0
    }  # the model alone: greedy
    adapter_rows = [c for c in compact if c["model"].endswith("adapter")]
    assert adapter_rows and all(c.get("model_digest") for c in adapter_rows)  # retraining is a new setting

    text = (out / "rounds.md").read_text()
    assert "random control" in text and "| 1 | round-1 |" in text
    with (out / "rounds.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)

    # a rerun finds everything done; other settings in the same folder are refused
    again = improve.run_improve(cfg, out, progress=False)
    assert [r.model_dump() for r in again] == [r.model_dump() for r in rows]
    with TrialStore(out / "eval.sqlite", readonly=True) as db:
        assert db.count(sweep="eval") == len(stored)
    with pytest.raises(InputError, match="other settings"):
        improve.run_improve(_config(tiny_base, problems=4), out, progress=False)
    saved = json.loads((out / "improve.json").read_text())
    del saved["expert_select"]  # a run folder from before the setting existed resumes at its default
    (out / "improve.json").write_text(json.dumps(saved))
    assert [r.model_dump() for r in improve.run_improve(cfg, out, progress=False)] == [r.model_dump() for r in rows]
    with pytest.raises(InputError, match="expert_select"):
        improve.run_improve(cfg.model_copy(update={"expert_select": "shortest"}), out, progress=False)

    # evaluation may widen on a rerun (and run batched): every round gets the new strategy, nothing retrains
    trained = (out / "round-1" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
    wider = improve.run_improve(
        _config(tiny_base, eval_strategies=["direct", "search", "best-of-n"], batch_trials=4), out, progress=False
    )  # the new arm runs batched, four trials at once
    assert {(r.round, r.strategy) for r in wider} == {
        (k, st) for k in (-1, 0, 1) for st in ("direct", "search", "best-of-n")
    }
    assert (out / "round-1" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == trained

    # the table is rebuilt from the folder alone, and runs compare side by side
    _, reloaded = improve.load_rows(out)
    assert [r.model_dump() for r in reloaded] == [r.model_dump() for r in wider]
    table = improve.compare_runs([out])
    assert table.startswith("| run | data |") and len(table.strip().splitlines()) == 2 + len(sets) * 3
    with pytest.raises(InputError, match="not an improve run"):
        improve.load_rows(tmp_path)


def test_a_retrained_adapter_is_merged_again(
    tiny_base: Path, tmp_path: Path, game24_records: list[dict[str, Any]], one_thread: Any
) -> None:
    from safetensors.torch import load_file, save_file

    from llm_modulo.models.adapters import merged_folder
    from llm_modulo.training import lora

    targets.write_jsonl(game24_records, tmp_path / "d.jsonl")
    adapter = tmp_path / "adapter"
    lora.train(tmp_path / "d.jsonl", adapter, base=str(tiny_base), lr=1e-2, rank=2, alpha=4, batch_size=4,
               max_steps=2, progress=False)  # fmt: skip
    first = load_file(str(merged_folder(adapter) / "model.safetensors"))
    weights = adapter / "adapter_model.safetensors"
    tensors = load_file(str(weights))
    save_file({k: (v * 3 if "lora_B" in k else v) for k, v in tensors.items()}, str(weights))  # "retrained"
    second = load_file(str(merged_folder(adapter) / "model.safetensors"))
    changed = [k for k in first if not (first[k] == second[k]).all()]
    assert changed and all("proj" in k for k in changed)
    assert not list(adapter.glob(".merged-*"))


def test_data_sources_and_the_token_cap(tokenizer: Any, tmp_path: Path) -> None:
    from llm_modulo.training import commands

    out = tmp_path / "run"
    for r in (1, 2):
        commands.make_data("blocksworld", out / f"round-{r}" / "data", count=4, seed=r, max_blocks=4)
        imitation = targets.read_jsonl(out / f"round-{r}" / "data" / "train.jsonl")
        targets.write_jsonl([dict(rec, source="expert") for rec in imitation[:2]], out / f"round-{r}" / "expert.jsonl")
    every = [rec for r in (1, 2) for rec in targets.read_jsonl(out / f"round-{r}" / "data" / "train.jsonl")]
    unique = {(rec["problem_hash"], rec["completion"]) for rec in every}  # small problems can recur across seeds
    base = dict(domain="blocksworld", base="default")
    imitation = improve.round_data(improve.ImproveConfig(**base, data="imitation"), out, 2)
    assert len(imitation) == len(unique) and {(r["problem_hash"], r["completion"]) for r in imitation} == unique
    assert [r["source"] for r in improve.round_data(improve.ImproveConfig(**base, data="expert"), out, 1)] == [
        "expert"
    ] * 2
    both = improve.round_data(improve.ImproveConfig(**base, data="both"), out, 2)
    assert len(both) == len(unique)  # the expert records repeat imitation answers: deduplicated
    capped = improve.round_data(improve.ImproveConfig(**base, data="imitation", train_tokens=60), out, 2, tokenizer)
    from llm_modulo.training.chat import completion_ids

    sizes = [len(completion_ids(tokenizer, r["completion"], tokenizer.eos_token_id)) for r in capped]
    assert capped and sum(sizes) <= 60 and len(capped) < len(unique)


def test_bad_settings_fail_with_the_field() -> None:
    with pytest.raises(ValueError, match="sample_strategy"):
        improve.ImproveConfig(sample_strategy="direct")
    with pytest.raises(ValueError, match="eval_strategies"):
        improve.ImproveConfig(eval_strategies=["beam"])
    with pytest.raises(ValueError, match="data"):
        improve.ImproveConfig(data="rl")
    with pytest.raises(ValueError, match="best-of-n or modulo"):
        improve.ImproveConfig(repair=True, sample_strategy="search")
    with pytest.raises(ValueError, match="eval_heuristic"):
        improve.ImproveConfig(eval_heuristic="oracle")
    with pytest.raises(ValueError, match="expert_select"):
        improve.ImproveConfig(expert_select="best")
    with pytest.raises(ValueError, match="for planning domains"):
        improve.ImproveConfig(domain="game24", expert_select="shortened")


def test_the_evaluation_search_heuristic_is_chosen_and_the_default_keeps_earlier_keys() -> None:
    def search(**settings: Any) -> dict[str, Any]:
        cfg = improve.ImproveConfig(domain="game24", eval_strategies=["search"], **settings)
        (entry,) = improve.eval_sweep(cfg, ["default"])["strategies"]
        return entry

    assert "heuristic" not in search()  # as before the option existed: the stored trials' keys still match
    assert search(eval_heuristic="none")["heuristic"] == "none"  # the model's own search, not game24's solver


def test_a_shipped_adapter_is_found_by_name_and_merged_into_the_cache(
    tiny_base: Path,
    tmp_path: Path,
    game24_records: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    one_thread: Any,
) -> None:
    from llm_modulo.models import adapters, load_model
    from llm_modulo.training import lora

    shipped, cache = tmp_path / "package" / "adapters", tmp_path / "cache"
    monkeypatch.setattr(adapters, "packaged_adapters_root", lambda: shipped)
    monkeypatch.setattr(adapters, "adapters_root", lambda: cache)
    targets.write_jsonl(game24_records, tmp_path / "d.jsonl")
    lora.train(tmp_path / "d.jsonl", shipped / "tiny-planner", base=str(tiny_base), rank=2, alpha=4, batch_size=4,
               max_steps=1, progress=False)  # fmt: skip
    assert adapters.resolve_adapter("tiny-planner") == shipped / "tiny-planner"
    model = load_model("tiny-planner")
    assert Path(model.source).parent == cache / ".merged" and not (shipped / "tiny-planner" / "merged").exists()
    assert adapters.resolve_adapter("no-such-adapter") is None


def test_runs_sharing_a_store_run_the_base_and_the_samples_once(
    tiny_base: Path, tmp_path: Path, one_thread: Any
) -> None:
    store = tmp_path / "shared.sqlite"
    expert = improve.run_improve(
        _config(tiny_base, store=str(store), eval_strategies=["direct"]), tmp_path / "expert", progress=False
    )
    with TrialStore(store, readonly=True) as db:
        first = db.count()
    assert (
        not (tmp_path / "expert" / "eval.sqlite").exists()
        and not (tmp_path / "expert" / "round-1" / "sample.sqlite").exists()
    )

    both = improve.run_improve(
        _config(tiny_base, store=str(store), eval_strategies=["direct"], data="both"), tmp_path / "both", progress=False
    )
    with TrialStore(store, readonly=True) as db:
        added = db.count() - first
    sets = len(improve.EVAL_SETS["blocksworld"])
    assert (
        improve.data_dir(_config(tiny_base, store=str(store)), tmp_path / "both", 1).parent == tmp_path / "shared-data"
    )
    assert added == sets  # only the new adapter's evaluation: base, control and round-1 samples were found in the store
    assert targets.read_jsonl(tmp_path / "both" / "round-1" / "expert.jsonl") == targets.read_jsonl(
        tmp_path / "expert" / "round-1" / "expert.jsonl"
    )

    # each run's table holds its own adapter, beside the same base and control rows
    for out, rows in ((tmp_path / "expert", expert), (tmp_path / "both", both)):
        assert {r.model for r in rows if r.round == 1} == {str(out / "round-1" / "adapter")}
        assert len(rows) == 3 * sets
        assert [r.model_dump() for r in improve.load_rows(out)[1]] == [r.model_dump() for r in rows]
    assert [r.model_dump() for r in expert if r.round < 1] == [r.model_dump() for r in both if r.round < 1]

    # another training seed repeats a source on the same problems and samples: only its evaluation is new
    with TrialStore(store, readonly=True) as db:
        before = db.count()
    again = _config(tiny_base, store=str(store), eval_strategies=["direct"], train_seed=1)
    assert again.training_seed == 1 and _config(tiny_base).training_seed == 0
    improve.run_improve(again, tmp_path / "expert-s1", progress=False)
    with TrialStore(store, readonly=True) as db:
        assert db.count() - before == sets
    assert targets.read_jsonl(tmp_path / "expert-s1" / "round-1" / "expert.jsonl") == targets.read_jsonl(
        tmp_path / "expert" / "round-1" / "expert.jsonl"
    )
    weights = [
        (out / "round-1" / "adapter" / "adapter_model.safetensors").read_bytes()
        for out in (tmp_path / "expert", tmp_path / "expert-s1")
    ]
    assert weights[0] != weights[1]  # trained from another seed

    # the comparison pools the two expert seeds (the single 'both' run stands alone); no repeats, no pooled table
    table = improve.compare_runs([tmp_path / "expert", tmp_path / "expert-s1", tmp_path / "both"])
    pooled = table.split("\n\n")[1].strip().splitlines()
    assert pooled[0].startswith("| data | train tokens | training seeds |") and len(pooled) == 2 + 2 * sets
    assert sum(line.startswith("| expert | all | 0, 1 |") for line in pooled) == sets
    assert sum(line.startswith("| both | all | 0 |") for line in pooled) == sets
    assert all(
        int(line.split("|")[7].split("/")[1].split()[0]) == 2 for line in pooled[2:] if "0, 1" in line
    )  # 2 trials pooled
    assert "pooled" not in improve.compare_runs([tmp_path / "expert", tmp_path / "both"])


def test_plan_progress_is_partial_credit_from_the_validators_prefixes() -> None:
    def result(*samples: tuple[int, int]) -> str:
        verdicts = [[{"critic": "plan-validator", "info": {"valid_prefix_len": v, "plan_len": n}}] for v, n in samples]
        return json.dumps({"trace": [{"samples": [{"verdicts": v} for v in verdicts]}]})

    assert improve.plan_progress(result((2, 8), (6, 8))) == (False, 0.75)  # the best sample counts
    assert improve.plan_progress(result((1, 4), (5, 5))) == (True, 1.0)  # executable to the end, goal or not
    assert improve.plan_progress(result((0, 0))) == (False, 0.0)  # an empty plan is no progress
    assert (
        improve.plan_progress(json.dumps({"trace": [{"samples": [{"verdicts": [{"critic": "game24", "info": {}}]}]}]}))
        is None
    )
    assert improve.plan_progress(None) is None
    typed = {
        "critic": "plan-validator",
        "progress": {"valid": 3, "best": 2, "length": 4},
    }  # Verdict.progress, as stored now
    assert improve.plan_progress(json.dumps({"trace": [{"samples": [{"verdicts": [typed]}]}]})) == (False, 0.75)


def test_continuing_from_an_adapter_with_repair_turns(
    tiny_base: Path, tmp_path: Path, game24_records: list[dict[str, Any]], one_thread: Any
) -> None:
    from llm_modulo.training import lora

    targets.write_jsonl(game24_records, tmp_path / "d.jsonl")
    start = tmp_path / "start"
    lora.train(
        tmp_path / "d.jsonl", start, base=str(tiny_base), rank=2, alpha=4, batch_size=4, max_steps=1, progress=False
    )
    cfg = _config(tiny_base, rounds=2, start=str(start), repair=True, data="imitation", sample_strategy="best-of-n",
                  eval_strategies=["direct"], eval_random=False)  # fmt: skip
    out = tmp_path / "run"
    rows = improve.run_improve(cfg, out, progress=False)

    for r, init in ((1, start.resolve()), (2, out / "round-1" / "adapter")):
        folder = out / f"round-{r}"
        repair = targets.read_jsonl(folder / "repair.jsonl")  # the tiny model's rejected plans, answered
        assert repair and all(
            x["source"] == "repair" and [m["role"] for m in x["prompt"]] == ["user", "assistant", "user"]
            for x in repair
        )
        trained = targets.read_jsonl(folder / "train.jsonl")
        own = {x["problem_hash"] for x in targets.read_jsonl(folder / "data" / "train.jsonl")}
        assert {x["source"] for x in trained} == {"imitation", "repair"}
        assert {
            x["problem_hash"] for x in trained
        } <= own  # this round's problems only: training continues from the last
        meta = json.loads((folder / "adapter" / "training.json").read_text())
        assert meta["init_adapter"] == str(init)
    # round 0 is the base and the adapter the loop started from; then each round's adapter
    assert {(r.round, r.model) for r in rows} == {(0, str(tiny_base)), (0, str(start)), (1, str(out / "round-1" / "adapter")),
                                                  (2, str(out / "round-2" / "adapter"))}  # fmt: skip
    text = (out / "rounds.md").read_text()
    assert f"continued from {start}" in text and "| 0 | start |" in text and "| 0 | base |" in text
    assert [r.model_dump() for r in improve.load_rows(out)[1]] == [r.model_dump() for r in rows]

    with pytest.raises(ValueError, match="planning"):
        _config(tiny_base, domain="game24", repair=True, sample_strategy="best-of-n")


def test_pooled_seeds_are_runs_of_one_arm_only() -> None:
    """Runs that differ in which certified samples they kept are two arms, not two seeds of one."""

    def rows(solved: int) -> list[improve.RoundRow]:
        return [improve.RoundRow(round=1, model="m", domain="blocksworld", instance_set="bw", strategy="direct", trials=25,
                                 solved=solved, llm_calls_per_instance=1.0, llm_calls_per_solved=None,
                                 generated_tokens_per_solved=None, seconds_per_instance=1.0)]  # fmt: skip

    expert = improve.ImproveConfig(data="expert", train_tokens=100)
    shortened = expert.model_copy(update={"expert_select": "shortened"})
    assert improve.data_label(expert) == "expert" and improve.data_label(shortened) == "expert (shortened)"
    assert improve.data_label(improve.ImproveConfig(data="imitation", expert_select="shortened")) == "imitation"
    assert improve.pooled_table([(expert, rows(1)), (shortened, rows(2))]) == ""  # no arm repeated
    table = improve.pooled_table(
        [(expert, rows(1)), (shortened, rows(2)), (shortened.model_copy(update={"train_seed": 1}), rows(3))]
    )
    assert "| expert (shortened) | 100 | 0, 1 | bw | direct | 2 + 3 | 5/50" in table
    assert "| expert | 100 | 0 | bw | direct | 1 | 1/25" in table  # its own row, alone
