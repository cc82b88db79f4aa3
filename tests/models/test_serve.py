"""The HTTP backend against a real inference server: ``transformers serve`` on the embedded model.

``transformers serve <folder>`` pins the server to that local folder: a request must name the
model by exactly that path (or not at all). It ignores ``n`` (one choice per request), so these
tests also exercise the backend's top-up requests. It decodes greedily unless the request turns
sampling on (``TRANSFORMERS_SERVE_SAMPLING``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llm_modulo.errors import ServerResponseError
from llm_modulo.models.openai_http import TRANSFORMERS_SERVE_SAMPLING, OpenAIModel
from llm_modulo.protocols import Prompt, SamplingParams

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

START_DEADLINE_S = 120.0
PROMPT = Prompt(messages=({"role": "user", "content": "Name three colours."},))
PARAMS = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=12, seed=1)


@dataclass
class Served:
    base_url: str  # http://127.0.0.1:<port>/v1
    model: str  # the local folder, as the server names it
    startup_s: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """Start ``transformers serve`` on the embedded model; stop it at teardown."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("transformers serve needs transformers[serving] (fastapi, uvicorn)")
    import httpx

    from llm_modulo.models.smollm2 import ensure_converted

    folder = str(ensure_converted())
    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
    argv = [
        sys.executable, "-m", "transformers.cli.transformers", "serve", folder,
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="llm-modulo-serve-") as tmp:
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log_file:
            started = time.monotonic()
            proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, env=env)
            try:
                base = f"http://127.0.0.1:{port}"
                while True:
                    if proc.poll() is not None:
                        pytest.fail(f"transformers serve exited with {proc.returncode}:\n{_tail(log_path)}")
                    if time.monotonic() - started > START_DEADLINE_S:
                        pytest.fail(
                            f"transformers serve did not answer in {START_DEADLINE_S:.0f} s:\n{_tail(log_path)}"
                        )
                    try:
                        if httpx.get(f"{base}/health", timeout=2.0).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.25)
                startup = time.monotonic() - started
                logger.info("transformers serve answered after %.1f s", startup)
                yield Served(base_url=f"{base}/v1", model=folder, startup_s=startup)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)


def test_models_lists_the_local_folder(served: Served) -> None:
    import httpx

    ids = [m["id"] for m in httpx.get(f"{served.base_url}/models", timeout=10).json()["data"]]
    assert ids == [served.model]


def test_chat_returns_n_completions_with_token_counts(served: Served) -> None:
    sampling = TRANSFORMERS_SERVE_SAMPLING
    with OpenAIModel(served.base_url, served.model, timeout=120, max_concurrency=2, extra_body=sampling) as model:
        batch = model.sample(PROMPT, 3, PARAMS)
    assert len(batch.completions) == 3
    assert all(c.text.strip() for c in batch.completions)
    assert len({c.text for c in batch.completions}) > 1  # sampled, not greedy
    assert all(0 < c.tokens <= PARAMS.max_tokens and c.prompt_tokens > 0 for c in batch.completions)
    # transformers serve ignores n: one request per completion, each with exact usage.
    assert batch.meta["requests"] == 3 and batch.meta["token_counts"] == "usage"
    logger.info("chat n=3: %.1f s, %s", batch.seconds, [c.text for c in batch.completions])


def test_completions_mode_continues_a_prefill(served: Served) -> None:
    spec = f"openai:{served.base_url}/{served.model}"  # .../v1//abs/folder
    with OpenAIModel.from_spec(spec, mode="completions", timeout=120) as model:
        assert model.model == served.model
        prompt = Prompt(messages=PROMPT.messages, prefill="1.")
        batch = model.sample(prompt, 2, SamplingParams(max_tokens=8, stop=("\n",), seed=3))
    assert len(batch.completions) == 2
    assert all(c.tokens > 0 and "\n" not in c.text for c in batch.completions)


def test_same_seed_same_sampled_completion(served: Served) -> None:
    with OpenAIModel(served.base_url, served.model, timeout=120, extra_body=TRANSFORMERS_SERVE_SAMPLING) as model:
        first = model.sample(PROMPT, 1, PARAMS).completions[0].text
        second = model.sample(PROMPT, 1, PARAMS).completions[0].text
    assert first == second


def test_chat_prefill_is_refused_with_the_way_out(served: Served) -> None:
    model = OpenAIModel(served.base_url, served.model, timeout=30)
    with pytest.raises(ServerResponseError, match="mode='completions'"):
        model.sample(Prompt(messages=PROMPT.messages, prefill="Red,"), 1, PARAMS)


def test_another_model_name_is_refused(served: Served) -> None:
    model = OpenAIModel(served.base_url, "HuggingFaceTB/SmolLM2-135M-Instruct", timeout=30)
    with pytest.raises(ServerResponseError, match="HTTP 400: Server is pinned"):
        model.sample(PROMPT, 1, PARAMS)
