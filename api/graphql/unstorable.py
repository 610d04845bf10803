"""GraphQL text PostgreSQL cannot store is refused like JSON text: in string literals,
whose own escapes (\\u0000) the input limits never see in the request body, and in
variables that did not come through that body (a graphql-ws socket)."""

from collections.abc import Iterator
from typing import Any

from graphql import ArgumentNode, GraphQLError, Node, ObjectFieldNode, StringValueNode
from graphql.validation import ValidationRule
from strawberry.extensions import SchemaExtension

from arqium.api.common.shapes import ARQIUM
from arqium.api.input_limits import UNSTORABLE, UNSTORABLE_MESSAGE, unstorable_field


def unstorable_error(field: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(f"{field}: {UNSTORABLE_MESSAGE}", node, extensions={
        "code": ARQIUM.codes["validation"], "details": {"errors": [{
            "field": field, "message": UNSTORABLE_MESSAGE, "type": "unstorable_text"}]}})


class UnstorableStrings(ValidationRule):
    """Reports each string literal holding NUL or a lone surrogate, naming its argument
    (dotted through input objects)."""

    def enter_string_value(self, node: StringValueNode, _key: Any, parent: Any,
                           _path: Any, ancestors: list) -> None:
        if not UNSTORABLE.search(node.value):
            return
        field = ".".join(part.name.value for part in (*ancestors, parent)
                         if isinstance(part, (ArgumentNode, ObjectFieldNode))) or "query"
        self.report_error(unstorable_error(field, node))


class UnstorableVariables(SchemaExtension):
    """Refuses an operation whose variables hold unstorable text, before it runs (its
    errors set before validation are the operation's answer)."""

    def on_validate(self) -> Iterator[None]:
        field = unstorable_field(self.execution_context.variables or {})
        if field is not None:
            self.execution_context.pre_execution_errors = [
                unstorable_error(f"variables.{field}" if field else "variables")]
        yield
