"""Applications take new aggregates' ids from an injected factory (uuid4 by default), so
a test can name the exact id a command gives. In-memory event stores: no I/O."""

from itertools import count
from uuid import UUID

from arqium.domain.identity.application import IdentityApplication
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication
from tests.conftest import SETUP


def ids_from(first: int):
    numbers = count(first)
    return lambda: UUID(int=next(numbers))


def test_a_ledger_object_gets_the_id_its_application_makes():
    ledger_object, _ = LedgerApplication(new_id=ids_from(7)).create_object(
        "ada", "contract", {}, cause=SETUP)
    assert ledger_object.id == UUID(int=7)


def test_a_vault_and_a_v0_memory_with_its_first_context_get_the_ids_made_for_them():
    memory = MemoryApplication(new_id=ids_from(1))
    vault, _ = memory.create_vault("ada", "work", "", cause=SETUP)
    collection, _ = memory.create_memory("ada", str(vault.id), "notes", "conversation", "",
                                           cause=SETUP)
    assert (vault.id, collection.id) == (UUID(int=1), UUID(int=2))
    assert collection.context_ids == [str(UUID(int=3))]


def test_an_api_key_gets_the_id_its_application_makes():
    key, _, _ = IdentityApplication(new_id=ids_from(42)).issue_api_key("ada", "ci", [],
                                                                     cause=SETUP)
    assert key.id == UUID(int=42)
