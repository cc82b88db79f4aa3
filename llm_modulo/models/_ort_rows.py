"""The per-step runs of the onnxruntime engine's decode loop (:mod:`.ort_local`), bound once.

:class:`InPlaceRows` runs the graph (GroupQueryAttention) on one KV buffer per layer that the
attention op updates in place, each row with its own copy of the prompt: used at n=1 and for
prefills. :class:`SharedRows` runs the rewritten graph (:mod:`._ort_shared`, which the engine
loads for both) with all rows reading one copy of the prompt's keys and values: used at n>1. Both bind their buffers and
the logits output once (no per-step allocation of 60 OrtValues), so a step is the model's run
plus a few small input copies.
"""

from __future__ import annotations

import os
import time
from typing import Any


def cores_free(window: float = 0.05) -> bool:
    """Whether other processes leave at least one core idle (then the pool threads may spin while
    a step runs): the machine's idle time over ``window`` seconds while this process sleeps
    (``/proc/stat``), so this process's own earlier work is not counted as load, as the 1-minute
    load average counted it (a sweep's own decoding turned spinning off). Without ``/proc``: the
    1-minute load average."""
    cpus = os.cpu_count() or 1
    first = _idle_and_total()
    if first is not None:
        time.sleep(window)
        second = _idle_and_total()
        if second is not None and second[1] > first[1]:
            return (second[0] - first[0]) / (second[1] - first[1]) * cpus >= 0.9  # a core, less noise
    try:
        return os.getloadavg()[0] <= cpus - 1
    except OSError:
        return False


def _idle_and_total() -> tuple[int, int] | None:
    """(idle + iowait, all) CPU ticks since boot, from /proc/stat's first line; None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (ticks[3] + ticks[4], sum(ticks)) if len(ticks) >= 5 else None


def bind_in_place(binding: Any, buffers: list[Any]) -> None:
    """Bind each layer's key and value buffer as both its past input and its present output: the
    attention op writes the new positions into them, nothing is copied."""
    import onnxruntime as ort

    for j, buffer in enumerate(buffers):
        layer, kind = divmod(j, 2)
        value = ort.OrtValue.ortvalue_from_numpy(buffer)
        name = f"{layer}.{('key', 'value')[kind]}"
        binding.bind_ortvalue_input(f"past_key_values.{name}", value)
        binding.bind_ortvalue_output(f"present.{name}", value)


def prompt_copies(kv: list[Any], prompt_len: int, length: int) -> list[Any]:
    """One [1, kv heads, ``length``, head size] buffer per layer and kind, holding the prompt's
    first ``prompt_len`` positions from ``kv`` (its first row)."""
    import numpy as np

    heads, size = kv[0].shape[1], kv[0].shape[3]
    buffers = [np.zeros((1, heads, length, size), dtype=np.float32) for _ in kv]
    for buffer, prompt in zip(buffers, kv, strict=True):
        buffer[:, :, :prompt_len] = prompt[:1, :, :prompt_len]
    return buffers


class InPlaceRows:
    """Rows decoding on the exported graph, in place in ``kv`` ([rows, kv heads, length, head
    size] per layer and kind: the prompt's positions filled, room for the rest).

    Args:
        session: an InferenceSession of ``model-rows.onnx`` (each run also gets the tokens'
            positions, a zero bias: the plain causal mask, and the positions whose logits it needs).
        kv: the buffers.
        vocab: the logits' width.
    """

    def __init__(self, session: Any, kv: list[Any], vocab: int) -> None:
        import numpy as np
        import onnxruntime as ort

        self._ort, self._session, self._vocab, self._kv = ort, session, vocab, kv
        self._binding = session.io_binding()
        self._bind_kv()
        self._logits = np.empty((kv[0].shape[0], 1, vocab), dtype=np.float32)
        self._binding.bind_ortvalue_output("logits", ort.OrtValue.ortvalue_from_numpy(self._logits))

    def _bind_kv(self) -> None:
        bind_in_place(self._binding, self._kv)

    def keep(self, rows: list[int]) -> None:
        """Keep only these rows (buffer row indices), in this order (a copy of their buffers)."""
        import numpy as np

        self._kv = [np.ascontiguousarray(a[rows]) for a in self._kv]
        self._binding.clear_binding_outputs()
        self._bind_kv()
        self._logits = np.empty((len(rows), 1, self._vocab), dtype=np.float32)
        self._binding.bind_ortvalue_output("logits", self._ort.OrtValue.ortvalue_from_numpy(self._logits))

    def run(self, input_ids: Any, seen: int, last_only: bool = False) -> Any:
        """Logits [rows, width, vocab] for ``input_ids`` [rows, width] after ``seen - width``
        cached tokens ([rows, 1, vocab], the last token's, with ``last_only``): the new keys and
        values land in the buffers."""
        import numpy as np

        rows, width = input_ids.shape
        b = self._binding
        b.bind_cpu_input("input_ids", input_ids)
        b.bind_cpu_input("attention_mask", np.ones((rows, seen), dtype=np.int64))
        b.bind_cpu_input("position_ids", np.broadcast_to(np.arange(seen - width, seen), (rows, width)).copy())
        b.bind_cpu_input("attention_bias", np.zeros((rows, 1, width, seen), dtype=np.float32))
        wanted = 1 if last_only else width
        b.bind_cpu_input("logits_positions", np.arange(width - wanted, width, dtype=np.int64))
        if wanted != self._logits.shape[1]:
            self._logits = np.empty((rows, wanted, self._vocab), dtype=np.float32)
            b.bind_ortvalue_output("logits", self._ort.OrtValue.ortvalue_from_numpy(self._logits))
        self._session.run_with_iobinding(b)
        return self._logits

    def step(self, input_ids: Any, position: int) -> Any:
        """Logits [rows, vocab] for one token a row at ``position``."""
        return self.run(input_ids, position + 1)[:, -1]


class SharedRows:
    """``n`` rows after one prompt, run as one sequence of batch 1 on the shared graph
    (:mod:`._ort_shared`): one KV buffer holds the prompt once, then each step's new tokens, one
    per live row; an additive bias lets each row attend to the prompt and its own tokens only.

    Args:
        session: an InferenceSession of ``model-rows.onnx``.
        kv: the prompt's cache, one [1, kv heads, >= P, head size] buffer per layer and kind.
        prompt_len: P, the prompt's length.
        rows: n.
        steps: the most decode steps to come (room for ``rows * steps`` tokens).
        vocab: the logits' width.
    """

    def __init__(self, session: Any, kv: list[Any], prompt_len: int, rows: int, steps: int, vocab: int) -> None:
        import numpy as np
        import onnxruntime as ort

        self._ort, self._session, self._vocab = ort, session, vocab
        length = prompt_len + rows * max(steps, 1)
        self._kv = prompt_copies(kv, prompt_len, length)
        self._binding = session.io_binding()
        bind_in_place(self._binding, self._kv)
        self._filled = prompt_len
        self._bias = np.full((rows, length), np.finfo(np.float32).min, dtype=np.float32)
        self._bias[:, :prompt_len] = 0.0  # every row sees the prompt
        self._live = list(range(rows))  # the bias row of each live row, in order
        self._logits: Any = np.empty(0, dtype=np.float32)

    def keep(self, rows: list[int]) -> None:
        """Keep only these rows (indices among the live rows), in this order: no copy, their
        tokens stay in the buffer, seen by no other row."""
        self._live = [self._live[r] for r in rows]

    def step(self, input_ids: Any, position: int) -> Any:
        """Logits [rows, vocab] for one token a row (``input_ids`` [rows, 1]) at ``position``."""
        import numpy as np

        rows, start = len(self._live), self._filled
        total = start + rows
        self._bias[self._live, np.arange(start, total)] = 0.0  # each row's new token, its own
        b = self._binding
        b.bind_cpu_input("input_ids", input_ids.reshape(1, rows))
        b.bind_cpu_input("attention_mask", np.ones((1, total), dtype=np.int64))
        b.bind_cpu_input("position_ids", np.full((1, rows), position, dtype=np.int64))
        b.bind_cpu_input("attention_bias", self._bias[self._live, :total][None, None])
        b.bind_cpu_input("logits_positions", np.arange(rows, dtype=np.int64))
        if self._logits.shape != (1, rows, self._vocab):
            self._logits = np.empty((1, rows, self._vocab), dtype=np.float32)
            b.bind_ortvalue_output("logits", self._ort.OrtValue.ortvalue_from_numpy(self._logits))
        self._session.run_with_iobinding(b)
        self._filled = total
        return self._logits[0]


__all__ = ["InPlaceRows", "SharedRows", "bind_in_place", "cores_free", "prompt_copies"]
