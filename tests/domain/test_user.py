import pytest

from arqium.domain.identity.domainmodel import (
    check_email,
    check_password_strength,
    user_id_for,
)
from arqium.domain.shared import Invalid


def test_user_id_ignores_case_and_surrounding_spaces_of_the_email():
    assert user_id_for(" Ada@Example.com ") == user_id_for("ada@example.com")


@pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "a da@example.com"])
def test_malformed_email_is_invalid(email):
    with pytest.raises(Invalid):
        check_email(email)


def test_short_password_is_refused():
    with pytest.raises(Invalid):
        check_password_strength("short")
