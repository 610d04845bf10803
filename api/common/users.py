"""A user's profile as several faces read it."""

from arqium.api.common.shapes import iso
from arqium.domain.shared import NotFound
from arqium.projections.users import UsersView


def profile_view(fields: dict) -> dict:
    """A user as the native face shows it, from a read-model row."""
    return {"id": str(fields["id"]), "email": fields["email"], "name": fields["name"],
            "roles": fields["roles"], "preferences": fields["preferences"],
            "created_at": iso(fields["created_at"]), "last_login": iso(fields["last_login"])}


def user_row(users: UsersView, user_id: str) -> dict:
    row = users.get(user_id)
    if row is None:
        raise NotFound("no such user (if it was just registered, send the "
                       "X-Event-Position you got back as X-Min-Position)")
    return row
