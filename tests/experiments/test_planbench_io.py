"""import-planbench / export-planbench: trimmed real PlanBench results files (o1-preview, from
karthikv792/LLMs-Planning) and files of our own for the edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_modulo.cli import app
from llm_modulo.errors import InputError
from llm_modulo.experiments.planbench_export import export_arm
from llm_modulo.experiments.planbench_io import import_results, protocol_of, read_results
from llm_modulo.experiments.report import load_meta, load_trials, write_report

DATA = Path(__file__).parent / "data" / "planbench" / "o1-preview_chat"
LOGISTICS = DATA / "logistics_task_1_plan_generation_zero_shot_pddl.json"
BW3 = DATA / "blocksworld_3_task_1_plan_generation_zero_shot.json"
runner = CliRunner()

PLAN_1 = "(unstack c b)\n(put-down c)\n(unstack b a)\n(put-down b)\n(pick-up a)\n(stack a b)\n(pick-up c)\n(stack c a)"


def _write(tmp_path: Path, instances: list, **top: object) -> Path:
    doc = {"task": "task_1_plan_generation", "prompt_type": "oneshot", "domain": "blocksworld_3", **top}
    doc["instances"] = instances
    path = tmp_path / "mine" / "results.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_real_logistics_file_agrees_and_carries_cost(tmp_path):
    store = tmp_path / "s.sqlite"
    done = import_results(LOGISTICS, store)
    assert done.label == "published: o1-preview-2024-09-12, zero-shot, PDDL prompt"
    assert (done.stored, len(done.verified), len(done.agree), done.disagree) == (3, 3, 3, [])
    rows = load_trials(store)
    assert {r["instance"] for r in rows} == {f"logistics/generated_basic/instance-{i}" for i in (1, 2, 3)}
    assert all(r["strategy"] == "published" and r["verified"] == 1 for r in rows)
    assert sorted(r["prompt_tokens"] for r in rows) == [1070, 1070, 1078]
    assert load_meta(store)["prices"]["o1-preview-2024-09-12"]["output"] == pytest.approx(60.0)
    again = import_results(LOGISTICS, store)  # idempotent: the same file is the same trials
    assert (again.stored, again.already) == (0, 3)


def test_prose_answers_planbench_accepted_are_stored_not_verified(tmp_path):
    store = tmp_path / "s.sqlite"
    done = import_results(BW3, store)
    assert done.model == "o1-preview"  # from PlanBench's results/<domain>/<engine>_chat/ folder
    assert done.verified == [] and len(done.disagree) == 3
    assert all(theirs and not ours for _, theirs, ours, _ in done.disagree)
    assert {r["status"] for r in load_trials(store)} == {"failed"}


def test_prose_around_a_marked_plan_and_a_wrong_published_verdict(tmp_path):
    text = f"Let me think.\nThe blocks are stacked.\n[PLAN]\n{PLAN_1}\n[PLAN END]\nThat is my plan."
    path = _write(
        tmp_path,
        [
            {"instance_id": 1, "llm_raw_response": text, "llm_correct": False},
            {"instance_id": "2", "llm_raw_response": "", "llm_correct": False},  # empty answer
            {"instance_id": 4, "llm_raw_response": None},  # no verdict, no answer
        ],
    )
    done = import_results(path, tmp_path / "s.sqlite", model="mine")
    assert done.verified == ["blocksworld/generated_basic_3/instance-1"]
    assert [(n, t, o) for n, t, o, _ in done.disagree] == [("blocksworld/generated_basic_3/instance-1", False, True)]
    assert done.agree == ["blocksworld/generated_basic_3/instance-2"]
    assert done.no_verdict == ["blocksworld/generated_basic_3/instance-4"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{not utf8", "not UTF-8"),
        (b"{", "not JSON"),
        (b"", "empty file"),
        (b'{"task": "t"}', 'no "instances"'),
        (b'{"instances": []}', "is empty"),
        (b'{"task": "task_3_plan_verification", "instances": [{}]}', "not plan generation"),
        (b'{"instances": [{"llm_raw_response": "x"}]}', "instance_id"),
        (b'{"instances": [{"instance_id": 1}]}', "no llm_raw_response"),
        (b'{"instances": [{"instance_id": 1, "llm_raw_response": 3}]}', "not text"),
        (b'{"instances": [{"instance_id": 1, "llm_raw_response": "", "llm_correct": "yes"}]}', "not true/false"),
        (
            b'{"instances": [{"instance_id": 1, "llm_raw_response": ""}, {"instance_id": 1, "llm_raw_response": ""}]}',
            "twice",
        ),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_results(path)


def test_unknown_instance_or_domain_is_bad_input_and_stores_nothing(tmp_path):
    store = tmp_path / "s.sqlite"
    path = _write(tmp_path, [{"instance_id": 1, "llm_raw_response": ""}, {"instance_id": 9999, "llm_raw_response": ""}])
    with pytest.raises(InputError, match="instance_id 9999"):
        import_results(path, store)
    assert not store.exists() or load_trials(store) == []
    other = _write(tmp_path, [{"instance_id": 1, "llm_raw_response": ""}], domain="depots")
    with pytest.raises(InputError, match="'depots' is not one this project has"):
        import_results(other, store)


def test_cli_exit_codes(tmp_path):
    store = tmp_path / "s.sqlite"
    ok = runner.invoke(app, ["import-planbench", str(LOGISTICS), "--store", str(store)])
    assert ok.exit_code == 0, ok.output
    assert "3 agree, 0 disagree" in ok.output
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x80\x81")
    res = runner.invoke(app, ["import-planbench", str(bad), "--store", str(store)])
    assert res.exit_code == 2
    assert "not UTF-8" in res.output and "Traceback" not in res.output
    missing = runner.invoke(app, ["export-planbench", str(store), "--arm", "nope"])
    assert missing.exit_code == 2 and "no arm 'nope'" in missing.output


def test_export_round_trip_keeps_our_certificate(tmp_path):
    store = tmp_path / "s.sqlite"
    import_results(LOGISTICS, store)
    label = "published: o1-preview-2024-09-12, zero-shot, PDDL prompt"
    res = runner.invoke(app, ["export-planbench", str(store), "--arm", label])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["domain"] == "logistics" and [i["instance_id"] for i in doc["instances"]] == [1, 2, 3]
    assert all(i["llm_correct"] for i in doc["instances"])
    assert doc["instances"][1]["extracted_llm_plan"].splitlines()[0] == "(load-airplane p0 a0 l1-0)"
    path = tmp_path / "exported.json"
    path.write_text(res.stdout, encoding="utf-8")
    back = import_results(path, tmp_path / "t.sqlite", model="again")
    assert len(back.agree) == 3 and not back.disagree
    assert export_arm(str(tmp_path / "t.sqlite"), back.label)["instances"][0]["llm_correct"] is True


def test_report_shows_the_published_arm_agreement_and_cost(tmp_path):
    store = tmp_path / "s.sqlite"
    import_results(LOGISTICS, store)
    import_results(BW3, store)
    prices = tmp_path / "prices.toml"
    prices.write_text('[prices."o1-preview"]\ninput = 15\noutput = 60\n', encoding="utf-8")
    files = write_report(store, tmp_path / "rep", csv_out=False, parquet_out=False, prices=prices)
    text = files.report.read_text(encoding="utf-8")
    assert "### Cost per certified answer" in text
    assert "| $0.1519 | $0.1519 | $15 / $60 |" in text  # logistics: $0.4557 over 3 certified
    assert "**3 agree, 0 disagree**" in text and "**0 agree, 3 disagree**" in text
    assert "$0.3565" in text  # the published o1-preview Logistics anchor, per instance
    assert "--prices" in text


def test_protocol_words():
    assert protocol_of("task_1_plan_generation_zero_shot_pddl", "oneshot") == "zero-shot, PDDL prompt"
    assert protocol_of("task_1_plan_generation", "oneshot") == "one-shot"


def test_a_named_pipe_or_a_folder_is_refused_without_reading(tmp_path):
    import os

    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(InputError, match="named pipe"):
        read_results(fifo)
    with pytest.raises(InputError, match="directory"):
        read_results(tmp_path)
