"""Finding one projection by name imports its module alone, and finds every projection
the workers run."""

import subprocess
import sys

import pytest

from arqium.projections import MODULE_OF, projection_named
from arqium.projections.base import SHADOW_SUFFIX, hurry_channel
from arqium.projections.catalog import PROJECTIONS


def test_every_projection_is_found_by_its_name_and_no_other_name_is_known():
    assert {name: projection_named(name) for name in MODULE_OF} == {
        projection.name: projection for projection in PROJECTIONS}


def test_an_unknown_name_says_which_names_are_known():
    with pytest.raises(SystemExit, match="unknown projection 'memory_itemz'.*memory_items"):
        projection_named("memory_itemz")


def test_finding_a_projection_imports_no_other_read_model():
    code = ("import sys; from arqium.projections import projection_named; "
            "projection_named('memory_items'); "
            "print(sorted(m for m in sys.modules if m.startswith('arqium.projections.')))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout
    assert "arqium.projections.memory_items" in imported
    for other in ("activity", "ledger_objects", "document_chunks", "catalog"):
        assert f"arqium.projections.{other}'" not in imported


def test_every_read_models_hurry_channel_is_a_name_postgresql_takes_whole():
    """pg_notify() refuses a channel of 64 bytes or more, where LISTEN would cut the name
    short: a read waiting for such a read model would fail instead of hurrying it."""
    names = [projection.name for projection in PROJECTIONS]
    names += [name + SHADOW_SUFFIX for name in names]
    assert max(len(hurry_channel(name).encode()) for name in names) < 64
