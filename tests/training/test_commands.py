"""The command functions, and light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llm_modulo.errors import InputError
from llm_modulo.training import commands, targets


def test_make_data_blocksworld_and_game24(tmp_path: Path) -> None:
    summary = commands.make_data("blocksworld", tmp_path / "bw", count=3, seed=7, min_blocks=4, max_blocks=5)
    assert summary["records"] == 3
    assert len(list((tmp_path / "bw" / "problems").glob("bw-*.pddl"))) == 3
    assert (tmp_path / "bw" / "problems" / "domain.pddl").is_file()
    assert json.loads((tmp_path / "bw" / "data.json").read_text())["records"] == 3
    summary = commands.make_data("game24", tmp_path / "g", count=4, seed=7)
    assert summary["records"] == 4 and len((tmp_path / "g" / "puzzles.txt").read_text().splitlines()) == 4
    assert all(r["source"] == "imitation" for r in targets.read_jsonl(tmp_path / "g" / "train.jsonl"))
    with pytest.raises(InputError, match="no training-data generator"):
        commands.make_data("logistics", tmp_path / "x", count=1)
    with pytest.raises(InputError, match="no trial store"):
        commands.make_expert_data(tmp_path / "missing.sqlite", tmp_path / "e.jsonl")


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, llm_modulo.training, llm_modulo.training.canon, llm_modulo.training.generate, "
        "llm_modulo.training.chat, llm_modulo.training.targets, llm_modulo.training.lora, llm_modulo.training.commands\n"
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'z3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_train_adapter_trains_on_the_threads_asked_and_restores_them(
    tiny_base: Path, tmp_path: Path, game24_records: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    from llm_modulo.training import lora

    seen: list[int] = []
    real = lora.train

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    targets.write_jsonl(game24_records, tmp_path / "d.jsonl")
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    monkeypatch.setattr(lora, "train", spy)
    summary = commands.train_adapter(tmp_path / "d.jsonl", tmp_path / "a", base=str(tiny_base), max_steps=1,
                                     batch_size=2, rank=2, alpha=4, progress=False, threads=other)  # fmt: skip
    assert seen == [other] and torch.get_num_threads() == before
    assert summary["steps"] == 1 and (tmp_path / "a" / "adapter_model.safetensors").is_file()
