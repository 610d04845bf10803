"""Domain tests drive aggregates directly, outside any application command: every one
runs with the `cause` fixture."""

import pytest

from arqium.domain.shared import Cause


@pytest.fixture(autouse=True)
def in_a_command(cause: Cause) -> Cause:
    return cause
