"""The master key: from ARQIUM_MASTER_KEY, from a key file, or generated once under the
data directory (mode 0600) for the embedded default; it opens only what it sealed."""

import base64
import os
import stat

import pytest

from arqium.infra.keys import MASTER_KEY_FILE, MasterKey, load_master_key


def test_the_embedded_default_generates_a_private_key_file_once(tmp_path):
    first = load_master_key(None, None, tmp_path / "data")
    path = tmp_path / "data" / MASTER_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_master_key(None, None, tmp_path / "data")  # the next start reads it
    assert again.open(first.seal(b"data key", "owner"), "owner") == b"data key"


def test_the_environment_key_wins_and_writes_no_file(tmp_path):
    value = base64.b64encode(os.urandom(32)).decode()
    key = load_master_key(value, None, tmp_path)
    assert MasterKey(base64.b64decode(value)).open(key.seal(b"k", "o"), "o") == b"k"
    assert not (tmp_path / MASTER_KEY_FILE).exists()


def test_an_explicit_key_file_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_master_key(None, tmp_path / "missing.key", tmp_path)


def test_a_key_that_is_not_base64_of_32_bytes_is_refused(tmp_path):
    with pytest.raises(ValueError, match="base64"):
        load_master_key("not base64!", None, tmp_path)
    with pytest.raises(ValueError, match="32 bytes"):
        load_master_key(base64.b64encode(b"short").decode(), None, tmp_path)


def test_a_sealed_value_opens_only_with_its_key_and_where_it_belongs():
    key = MasterKey(os.urandom(32))
    sealed = key.seal(b"data key", "data-key:alice")
    with pytest.raises(ValueError, match="master key"):
        key.open(sealed, "data-key:mallory")  # moved to another owner's row
    with pytest.raises(ValueError, match="master key"):
        MasterKey(os.urandom(32)).open(sealed, "data-key:alice")
