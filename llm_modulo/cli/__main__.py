"""``python -m llm_modulo.cli``: the same as the ``llm-modulo`` command."""

from llm_modulo.cli import main

main()
