"""Vaults, v0 memories and their title claims: rules without I/O."""

from datetime import datetime, timezone
from uuid import uuid4

import pytest

from arqium.domain.memory.domainmodel import searchable_text
from arqium.domain.memory.vaults import (
    ContextNotFound,
    MemoryCollection,
    TitleClaim,
    TitleTaken,
    Vault,
    check_raw_entry,
    entry_key,
    tag_names,
)
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def collection() -> MemoryCollection:
    return MemoryCollection(id=uuid4(), owner_id="u1", vault_id="v1", title="notes",
                            memory_type="conversation", description="", context_id="c1",
                            context={}, at=AT)


@pytest.mark.parametrize("title", ["", " ", "x" * 101, "a/b", "a\tb", "a\nb", "\x7f"])
def test_a_title_not_of_1_to_100_printable_characters_without_slash_is_refused(title):
    with pytest.raises(Invalid):
        Vault(id=uuid4(), owner_id="u1", title=title, description="", at=AT)


@pytest.mark.parametrize("title", ["a-1" * 16 + "xy", "Vault Title", "é ?#%" + "x" * 95])
def test_a_title_of_1_to_100_printable_characters_is_accepted(title):
    assert Vault(id=uuid4(), owner_id="u1", title=title, description="", at=AT).title


def test_deleting_a_context_makes_the_previous_one_current():
    memory = collection()
    memory.put_context(context_id="c2", context={"a": 1}, at=AT)
    memory.delete_context("c2", at=AT)
    assert memory.context_ids == ["c1"]
    with pytest.raises(ContextNotFound):
        memory.delete_context("c2", at=AT)


def test_a_claimed_title_is_refused_until_released():
    claim = TitleClaim(scope="vaults:u1", title="work", holder_id="v1")
    with pytest.raises(TitleTaken):
        claim.claim("v2", "work")
    claim.release()
    claim.claim("v2", "work")
    assert claim.holder_id == "v2"
    assert [type(e).__name__ for e in claim.collect_events()] == [
        "Claimed", "Released", "Reclaimed"]


def test_tag_filters_match_list_items_and_object_keys():
    assert tag_names(["a", "b"]) == ["a", "b"]
    assert tag_names({"topic": "food"}) == ["topic"]


@pytest.mark.parametrize("raw", ["", "   ", "x" * 9001])
def test_an_empty_or_oversize_raw_entry_is_refused(raw):
    with pytest.raises(Invalid):
        check_raw_entry(raw)


def test_an_entrys_key_is_not_part_of_its_search_text():
    assert searchable_text(entry_key("m1", "e1"), "pizza on friday", ["food"]) == \
        "pizza on friday food"
