"""Settings refuse what would be unsafe in production, and say what to set instead."""

import pytest
from pydantic import ValidationError

from arqium.infra.security import PasswordHashing
from arqium.infra.settings import Settings

STRONG_SECRET = "s" * 32
MASTER_KEY = "bWFzdGVyIGtleSBvZiAzMiBieXRlcyBleGFjdGx5ISE="  # base64 of 32 bytes


def test_production_refuses_a_missing_jwt_secret():
    with pytest.raises(ValidationError, match="ARQIUM_JWT_SECRET"):
        Settings(environment="production")


@pytest.mark.parametrize("cost", [{"password_hash_time_cost": 1},
                                  {"password_hash_memory_kib": 8192}])
def test_production_refuses_password_hashing_below_the_owasp_minimum(cost):
    with pytest.raises(ValidationError, match="ARQIUM_PASSWORD_HASH_TIME_COST"):
        Settings(environment="production", jwt_secret=STRONG_SECRET,
                 master_key=MASTER_KEY, **cost)


def test_production_takes_the_default_password_hashing():
    settings = Settings(environment="production", jwt_secret=STRONG_SECRET,
                        master_key=MASTER_KEY)
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (
        3, 65536)


def test_production_refuses_to_start_without_a_master_key():
    with pytest.raises(ValidationError, match="ARQIUM_MASTER_KEY"):
        Settings(environment="production", jwt_secret=STRONG_SECRET)


def test_production_takes_a_master_key_or_an_explicit_key_file(tmp_path):
    assert Settings(environment="production", jwt_secret=STRONG_SECRET,
                    master_key_file=tmp_path / "master.key").master_key_file


def test_new_password_hashes_carry_the_configured_cost():
    hashed = PasswordHashing(time_cost=2, memory_kib=2048).hash("correct horse")
    assert "$m=2048,t=2," in hashed


def test_a_hash_made_at_another_cost_still_verifies():
    hashed = PasswordHashing(time_cost=1, memory_kib=1024).hash("correct horse")
    assert PasswordHashing().verify(hashed, "correct horse")
