"""Every application command can be answered again from what it saved."""

import inspect

import pytest

from arqium.domain.agents.application import AgentsApplication
from arqium.domain.analytics.application import AnalyticsApplication
from arqium.domain.components.application import ComponentsApplication
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.journal import Saved
from arqium.domain.ledger import digest
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import MemoryItem
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.shared import command

APPLICATIONS = (IdentityApplication, LedgerApplication, MemoryApplication,
                SessionsApplication, AnalyticsApplication, PlatformApplication,
                ComponentsApplication, AgentsApplication)
COMMANDS = [member for app in APPLICATIONS for _, member in inspect.getmembers(app)
            if hasattr(member, "replaying")] + [digest.seal_digest]


@pytest.mark.parametrize("each", COMMANDS, ids=lambda c: c.__qualname__)
def test_every_command_knows_how_to_rebuild_its_result(each):
    assert callable(each.replaying())


def test_a_result_is_rebuilt_from_its_annotation(cause):
    item = MemoryItem(owner_id="u1", key="k", content="c", layer="temporary",
                      confidence=None, sensitivity="public", tags=[], metadata={},
                      session_id=None, context_id=None, expires_at=None, at=None)

    @command
    def stored(app) -> tuple[MemoryItem, int]:
        raise AssertionError("not run")

    assert stored.replaying()(None, Saved((item,), 7, {})) == (item, 7)


def test_a_result_the_annotation_cannot_describe_needs_a_replay_of_its_own():
    @command
    def counted(app) -> tuple[str, int]:
        return "", 0

    with pytest.raises(TypeError, match="replay="):
        counted.replaying()
