"""GraphQL string literals are refused like JSON strings when they hold text PostgreSQL
cannot store: the document's own escapes (\\u0000) never pass the input limits, which
read the request body as JSON."""

from typing import Any

from graphql import ArgumentNode, GraphQLError, ObjectFieldNode, StringValueNode
from graphql.validation import ValidationRule

from arqium.api.common.shapes import ARQIUM
from arqium.api.input_limits import UNSTORABLE, UNSTORABLE_MESSAGE


class UnstorableStrings(ValidationRule):
    """Reports each string literal holding NUL or a lone surrogate, naming its argument
    (dotted through input objects)."""

    def enter_string_value(self, node: StringValueNode, _key: Any, parent: Any,
                           _path: Any, ancestors: list) -> None:
        if not UNSTORABLE.search(node.value):
            return
        field = ".".join(part.name.value for part in (*ancestors, parent)
                         if isinstance(part, (ArgumentNode, ObjectFieldNode))) or "query"
        self.report_error(GraphQLError(
            f"{field}: {UNSTORABLE_MESSAGE}", node, extensions={
                "code": ARQIUM.codes["validation"], "details": {"errors": [{
                    "field": field, "message": UNSTORABLE_MESSAGE,
                    "type": "unstorable_text"}]}}))
