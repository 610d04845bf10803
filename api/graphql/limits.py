"""What one GraphQL document may ask for (depth, aliases, fields, tokens), refused before
it is validated further or run, over HTTP and over WebSocket alike.

The token limit is strawberry's (the parser stops counting there). Depth, aliases and
fields are counted here, every spread of a fragment counting its fields again but each
fragment measured once: strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a
fragment again at every spread, so a few hundred tokens of fragments spreading the next
one twice keep them busy for minutes (25 levels: 2^25 walks)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from arqium.infra.settings import Settings


class LimitExceeded(GraphQLError):
    """The document asks for more than one request may (HTTP 400)."""


@dataclass(frozen=True)
class Size:
    """What a selection set asks for once its fragments are spread."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0

    def beside(self, other: "Size") -> "Size":
        return Size(max(self.depth, other.depth), self.aliases + other.aliases,
                    self.fields + other.fields)


@dataclass(frozen=True)
class Limits:
    depth: int
    aliases: int
    fields: int

    def problems(self, size: Size) -> Iterator[str]:
        if size.depth > self.depth:
            yield f"the query is {size.depth} fields deep; at most {self.depth} allowed"
        if size.aliases > self.aliases:
            yield f"the query has {size.aliases} aliases; at most {self.aliases} allowed"
        if size.fields > self.fields:
            yield f"the query selects {size.fields} fields; at most {self.fields} allowed"


class DocumentSizes:
    """The size of each operation of a document, each fragment measured once."""

    def __init__(self, document: DocumentNode):
        self._fragments = {definition.name.value: definition
                           for definition in document.definitions
                           if isinstance(definition, FragmentDefinitionNode)}
        self._measured: dict[str, Size] = {}
        self._operations = [definition for definition in document.definitions
                            if isinstance(definition, OperationDefinitionNode)]

    def operations(self) -> Iterator[Size]:
        for operation in self._operations:
            yield self.of(operation.selection_set)

    def of(self, selections: SelectionSetNode | None) -> Size:
        size = Size()
        for selection in selections.selections if selections else ():
            size = size.beside(self._selection(selection))
        return size

    def _selection(self, selection: object) -> Size:
        if isinstance(selection, FieldNode):
            inner = self.of(selection.selection_set)
            # Introspection (GraphiQL's query is 15 deep: type of type of ...) reads the
            # schema, not data: its fields count, its depth does not.
            depth = 1 if selection.name.value.startswith("__") else inner.depth + 1
            return Size(depth, inner.aliases + (selection.alias is not None),
                        inner.fields + 1)
        if isinstance(selection, InlineFragmentNode):
            return self.of(selection.selection_set)
        if isinstance(selection, FragmentSpreadNode):
            return self._fragment(selection.name.value)
        return Size()

    def _fragment(self, name: str) -> Size:
        if name not in self._measured:
            self._measured[name] = Size()  # a cycle counts nothing: validation refuses it
            fragment = self._fragments.get(name)
            self._measured[name] = self.of(fragment.selection_set) if fragment else Size()
        return self._measured[name]


class DocumentLimiter(SchemaExtension):
    """Refuses an operation over the limits as the document's only errors, so neither
    the other validation rules nor the resolvers ever see it."""

    def __init__(self, limits: Limits, max_tokens: int):
        self.limits = limits
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        yield
        # The parser stopped at MaxTokensLimiter's count: say so as a limit (raised,
        # it replaces the syntax error strawberry was about to answer).
        errors = self.execution_context.pre_execution_errors or []
        if any(f"more than {self.max_tokens} tokens" in error.message for error in errors):
            raise LimitExceeded(f"the query has more than {self.max_tokens} tokens; at "
                                f"most {self.max_tokens} allowed")

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None:
            try:
                problems = [LimitExceeded(problem)
                            for size in DocumentSizes(document).operations()
                            for problem in self.limits.problems(size)]
            except RecursionError:
                problems = [LimitExceeded("the query nests its fragments too deeply")]
            if problems:
                self.execution_context.pre_execution_errors = problems
        yield


LIMIT_NAMES = ("max_depth", "max_aliases", "max_fields", "max_tokens")


def document_limits(settings: Settings, current: Callable[[], dict] = dict
                    ) -> list[Callable[[], SchemaExtension]]:
    """The extensions' factories: strawberry makes each request its own instances, with
    the limits in force then (`current()`: the graphql module's settings; a limit it
    does not give is the ARQIUM_GRAPHQL_MAX_* setting)."""
    def limits() -> dict[str, int]:
        chosen = current()
        return {name: getattr(settings, f"graphql_{name}") if chosen.get(name) is None
                else chosen[name] for name in LIMIT_NAMES}

    def tokens() -> SchemaExtension:
        return MaxTokensLimiter(max_token_count=limits()["max_tokens"])

    def document() -> SchemaExtension:
        now = limits()
        return DocumentLimiter(Limits(depth=now["max_depth"], aliases=now["max_aliases"],
                                      fields=now["max_fields"]), now["max_tokens"])

    return [tokens, document]
