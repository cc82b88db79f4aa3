"""The per-step runs of the onnxruntime engine's decode loop (:mod:`.ort_local`), bound once.

:class:`InPlaceRows` runs the exported graph (GroupQueryAttention) on one KV buffer per layer
that the attention op updates in place, each row with its own copy of the prompt: used at n=1
and for prefills. :class:`SharedRows` runs the rewritten graph (:mod:`._ort_shared`) where all
rows read one copy of the prompt's keys and values: used at n>1. Both bind their buffers and
the logits output once (no per-step allocation of 60 OrtValues), so a step is the model's run
plus a few small input copies.
"""

from __future__ import annotations

from typing import Any


class InPlaceRows:
    """Rows decoding on the exported graph, in place in ``kv`` ([rows, kv heads, length, head
    size] per layer and kind: the prompt's positions filled, room for the rest).

    Args:
        session: an InferenceSession of ``model.onnx``.
        kv: the buffers.
        vocab: the logits' width.
    """

    def __init__(self, session: Any, kv: list[Any], vocab: int) -> None:
        import numpy as np
        import onnxruntime as ort

        self._ort, self._session, self._vocab, self._kv = ort, session, vocab, kv
        self._layers = len(kv) // 2
        self._binding = session.io_binding()
        self._bind_kv()
        self._logits = np.empty((kv[0].shape[0], 1, vocab), dtype=np.float32)
        self._binding.bind_ortvalue_output("logits", ort.OrtValue.ortvalue_from_numpy(self._logits))

    def _bind_kv(self) -> None:
        b = self._binding
        for i in range(self._layers):
            for j, kind in enumerate(("key", "value")):
                value = self._ort.OrtValue.ortvalue_from_numpy(self._kv[2 * i + j])
                b.bind_ortvalue_input(f"past_key_values.{i}.{kind}", value)
                b.bind_ortvalue_output(f"present.{i}.{kind}", value)

    def keep(self, rows: list[int]) -> None:
        """Keep only these rows (buffer row indices), in this order (a copy of their buffers)."""
        import numpy as np

        self._kv = [np.ascontiguousarray(a[rows]) for a in self._kv]
        self._binding.clear_binding_outputs()
        self._bind_kv()
        self._logits = np.empty((len(rows), 1, self._vocab), dtype=np.float32)
        self._binding.bind_ortvalue_output("logits", self._ort.OrtValue.ortvalue_from_numpy(self._logits))

    def run(self, input_ids: Any, seen: int) -> Any:
        """Logits [rows, width, vocab] for ``input_ids`` [rows, width] after ``seen - width``
        cached tokens: the new keys and values land in the buffers."""
        import numpy as np

        rows, width = input_ids.shape
        b = self._binding
        b.bind_cpu_input("input_ids", input_ids)
        b.bind_cpu_input("attention_mask", np.ones((rows, seen), dtype=np.int64))
        if width != self._logits.shape[1]:
            self._logits = np.empty((rows, width, self._vocab), dtype=np.float32)
            b.bind_ortvalue_output("logits", self._ort.OrtValue.ortvalue_from_numpy(self._logits))
        self._session.run_with_iobinding(b)
        return self._logits

    def step(self, input_ids: Any, position: int) -> Any:
        """Logits [rows, vocab] for one token a row at ``position``."""
        return self.run(input_ids, position + 1)[:, -1]


class SharedRows:
    """``n`` rows decoding after one prompt on the rewritten graph: the prompt's keys and values
    bound once (one copy, transposed keys), each row's own ones passed from step to step.

    Args:
        session: an InferenceSession of ``model-shared.onnx``.
        kv: the prompt's cache, one [1, kv heads, >= P, head size] buffer per layer and kind.
        prompt_len: P, the prompt's length.
        rows: n.
        vocab: the logits' width.
    """

    def __init__(self, session: Any, kv: list[Any], prompt_len: int, rows: int, vocab: int) -> None:
        import numpy as np
        import onnxruntime as ort

        self._ort, self._session, self._vocab = ort, session, vocab
        self._binding = session.io_binding()
        self._layers = len(kv) // 2
        self._kept: list[Any] = []  # the arrays that bound OrtValues read from
        for i in range(self._layers):
            key, value = kv[2 * i][0, :, :prompt_len], kv[2 * i + 1][0, :, :prompt_len]
            self._bind(f"prefix.{i}.key_t", np.ascontiguousarray(key.transpose(0, 2, 1)))
            self._bind(f"prefix.{i}.value", np.ascontiguousarray(value))
        heads, size = kv[0].shape[1], kv[0].shape[3]
        empty = np.zeros((rows, heads, 0, size), dtype=np.float32)
        self._own = [ort.OrtValue.ortvalue_from_numpy(empty) for _ in kv]
        self._outputs = [f"present.{i}.{kind}" for i in range(self._layers) for kind in ("key", "value")]
        self._logits = np.empty((rows, 1, vocab), dtype=np.float32)

    def _bind(self, name: str, array: Any) -> None:
        self._kept.append(array)
        self._binding.bind_ortvalue_input(name, self._ort.OrtValue.ortvalue_from_numpy(array))

    def keep(self, rows: list[int]) -> None:
        """Keep only these rows (buffer row indices), in this order."""
        import numpy as np

        own = [np.ascontiguousarray(v.numpy()[rows]) for v in self._own]
        self._own = [self._ort.OrtValue.ortvalue_from_numpy(a) for a in own]
        self._logits = np.empty((len(rows), 1, self._vocab), dtype=np.float32)

    def step(self, input_ids: Any, position: int) -> Any:
        """Logits [rows, vocab] for one token a row (``input_ids`` [rows, 1]) at ``position``."""
        import numpy as np

        b = self._binding
        b.bind_cpu_input("input_ids", input_ids)
        b.bind_cpu_input("position_ids", np.full(input_ids.shape, position, dtype=np.int64))
        for i in range(self._layers):
            b.bind_ortvalue_input(f"past_key_values.{i}.key", self._own[2 * i])
            b.bind_ortvalue_input(f"past_key_values.{i}.value", self._own[2 * i + 1])
        b.clear_binding_outputs()
        b.bind_ortvalue_output("logits", self._ort.OrtValue.ortvalue_from_numpy(self._logits))
        for name in self._outputs:
            b.bind_output(name)
        self._session.run_with_iobinding(b)
        self._own = b.get_outputs()[1:]
        return self._logits[:, -1]


__all__ = ["InPlaceRows", "SharedRows"]
