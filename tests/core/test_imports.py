"""``import llm_modulo`` stays light, and there is one import namespace."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["torch", "transformers", "unified_planning", "z3", "numpy"]


def _run(code: str, cwd: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_import_is_light(tmp_path):
    code = (
        "import sys, json, llm_modulo, llm_modulo.cli, llm_modulo.registry\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert json.loads(_run(code, str(tmp_path))) == []


def test_verifiers_and_domains_live_inside_llm_modulo(tmp_path):
    code = (
        "import importlib.util as u, json\n"
        "print(json.dumps([u.find_spec(n) is not None for n in "
        "['verifiers', 'domains', 'llm_modulo.verifiers', 'llm_modulo.domains']]))"
    )
    assert json.loads(_run(code, str(tmp_path))) == [False, False, True, True]


def test_lazy_public_api_resolves():
    import llm_modulo

    assert llm_modulo.Modulo.name == "modulo"
    assert llm_modulo.ScriptedModel is not None
    assert "Modulo" in dir(llm_modulo)
