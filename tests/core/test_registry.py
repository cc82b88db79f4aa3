"""The registry: unknown names and broken third-party entry points fail as one clear error."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from llm_modulo import registry
from llm_modulo.errors import InputError, UnknownNameError


def test_a_broken_entry_point_names_itself_and_the_import_error(monkeypatch):
    broken = EntryPoint(name="broken", value="no_such_package_xyz.domain:factory", group="llm_modulo.domains")
    monkeypatch.setattr(registry, "_plugin_domains", lambda: {"broken": broken})
    with pytest.raises(InputError, match=r"'broken'.*no_such_package_xyz\.domain:factory.*ModuleNotFoundError") as info:
        registry.domain_factory("broken")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)  # the original stays chained for debugging
    assert "broken" in registry.domain_names()  # listing does not import it


def test_an_unknown_domain_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="known: .*blocksworld"):
        registry.domain_factory("nope")
