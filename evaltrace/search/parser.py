"""Recursive-descent parser: filter string -> frozen AST (see evaltrace/search/ast.py).

    expr       := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | primary
    primary    := "(" expr ")" | "span" "(" expr ")" | comparison
    comparison := key comparator literal | key ["NOT"] "IN" "(" literal ("," literal)* ")"
                | key "IS" ["NOT"] "NULL" | key ["NOT"] ("LIKE" | "ILIKE") string

Bare ``span.*`` comparisons joined by AND at one level are grouped into one ``SpanGroup``:
one span must satisfy them all. Conditions on different spans go in separate ``span(...)``.
"""

from __future__ import annotations

from functools import lru_cache

from evaltrace.exceptions import InvalidFilterError
from evaltrace.search.ast import And, Comparison, Expr, KeyKind, Literal, Not, Op, Or, SpanGroup
from evaltrace.search.keys import TRACES, Catalogue, KeyType, allowed_ops, key_type, resolve_key
from evaltrace.search.lexer import Token, TokenType, tokenize

__all__ = ["parse_filter"]

_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "TRUE", "FALSE"}
_SPAN_KINDS = (KeyKind.SPAN, KeyKind.SPAN_ATTRIBUTE)
MAX_FILTER_CHARS = 10_000
_MAX_DEPTH = 50


def parse_filter(text: str | None, catalogue: Catalogue = TRACES) -> Expr | None:
    """The AST of a filter string; None for an empty filter. Raises InvalidFilterError.

    ``catalogue`` says which keys exist: ``TRACES`` (default) or ``DATASETS``."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidFilterError(f"filter_string must be a string, got {type(text).__name__}")
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidFilterError(f"filter_string is longer than {MAX_FILTER_CHARS} characters")
    if not text.strip():
        return None
    return _parse(text, catalogue)


@lru_cache(maxsize=256)
def _parse(text: str, catalogue: Catalogue) -> Expr:
    return _Parser(text, catalogue).parse()


class _Parser:
    def __init__(self, text: str, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.in_span_group = False

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, expected: str, token: Token | None = None) -> InvalidFilterError:
        token = token or self.current
        found = "end of filter" if token.type is TokenType.EOF else repr(str(token.value))
        return InvalidFilterError(
            f"expected {expected} at {token.position}, found {found}", position=token.position
        )

    def parse(self) -> Expr:
        expr = self.parse_or()
        if self.current.type is not TokenType.EOF:
            raise self.error("AND, OR or the end of the filter")
        return expr

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.current.word == "OR":
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_not()]
        while self.current.word == "AND":
            self.advance()
            items.append(self.parse_not())
        if self.in_span_group:  # everything inside span(...) is about one span already
            return items[0] if len(items) == 1 else And(tuple(items))
        return _group_span_conditions(items)

    def parse_not(self) -> Expr:
        if self.current.word == "NOT":
            token = self.advance()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise InvalidFilterError(
                    f"NOT and parentheses nested deeper than {_MAX_DEPTH} at {token.position}",
                    position=token.position,
                )
            inner = Not(self.parse_not())
            self.depth -= 1
            return inner
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        token = self.current
        if token.type is TokenType.LPAREN:
            return self.parenthesized()
        if token.word == "SPAN" and self.tokens[self.index + 1].type is TokenType.LPAREN:
            self.advance()
            if self.in_span_group:
                raise InvalidFilterError(
                    f"span(...) at {token.position} cannot be nested", position=token.position
                )
            self.in_span_group = True
            inner = self.parenthesized()
            self.in_span_group = False
            if not _only_span_keys(inner):
                raise InvalidFilterError(
                    f"span(...) at {token.position} may only contain span.* conditions",
                    position=token.position,
                )
            return SpanGroup(inner)
        return self.parse_comparison()

    def parenthesized(self) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise InvalidFilterError(
                f"parentheses nested deeper than {_MAX_DEPTH} at {self.current.position}",
                position=self.current.position,
            )
        self.advance()  # "("
        inner = self.parse_or()
        if self.current.type is not TokenType.RPAREN:
            raise self.error("')'")
        self.advance()
        self.depth -= 1
        return inner

    def parse_comparison(self) -> Comparison:
        token = self.current
        if token.type is not TokenType.IDENT or token.word in _KEYWORDS:
            raise self.error("a key such as attributes.status or tags.env")
        self.advance()
        key = resolve_key(token.parts, str(token.value), token.position, self.catalogue)
        op_token = self.current
        op = self.parse_operator()
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            value: Literal = None
        elif op in (Op.IN, Op.NOT_IN):
            value = self.parse_list()
        else:
            value = self.parse_literal()
        return _checked(Comparison(key, op, value), op_token)

    def parse_operator(self) -> Op:
        token = self.current
        if token.type is TokenType.OP:
            self.advance()
            return Op(token.value)
        word = token.word
        if word == "IS":
            self.advance()
            negated = self.current.word == "NOT"
            if negated:
                self.advance()
            if self.current.word != "NULL":
                raise self.error("NULL")
            self.advance()
            return Op.IS_NOT_NULL if negated else Op.IS_NULL
        if word == "NOT":
            self.advance()
            if self.current.word == "IN":
                self.advance()
                return Op.NOT_IN
            raise self.error("IN after NOT (write NOT key LIKE ... to negate LIKE)")
        if word in ("IN", "LIKE", "ILIKE"):
            self.advance()
            return Op(word)
        raise self.error("a comparator (= != < <= > >= LIKE ILIKE IN NOT IN IS NULL)")

    def parse_list(self) -> tuple[Literal, ...]:
        if self.current.type is not TokenType.LPAREN:
            raise self.error("'(' after IN")
        self.advance()
        values = [self.parse_literal()]
        while self.current.type is TokenType.COMMA:
            self.advance()
            values.append(self.parse_literal())
        if self.current.type is not TokenType.RPAREN:
            raise self.error("',' or ')'")
        self.advance()
        return tuple(values)

    def parse_literal(self) -> Literal:
        token = self.current
        if token.type in (TokenType.STRING, TokenType.NUMBER):
            self.advance()
            return token.value
        if token.word in ("TRUE", "FALSE"):
            self.advance()
            return token.word == "TRUE"
        raise self.error("a value: 'string', number, true or false")


def _only_span_keys(expr: Expr) -> bool:
    if isinstance(expr, Comparison):
        return expr.key.kind in _SPAN_KINDS
    if isinstance(expr, (And, Or)):
        return all(_only_span_keys(item) for item in expr.items)
    if isinstance(expr, Not):
        return _only_span_keys(expr.item)
    return False


def _group_span_conditions(items: list[Expr]) -> Expr:
    """Bare span comparisons ANDed at one level must hold for the same span."""
    span_items = [i for i in items if isinstance(i, Comparison) and i.key.kind in _SPAN_KINDS]
    if span_items:
        others = [i for i in items if not (isinstance(i, Comparison) and i.key.kind in _SPAN_KINDS)]
        group = SpanGroup(span_items[0] if len(span_items) == 1 else And(tuple(span_items)))
        items = [group, *others]
    return items[0] if len(items) == 1 else And(tuple(items))


def _checked(comparison: Comparison, op_token: Token) -> Comparison:
    key, op, value = comparison.key, comparison.op, comparison.value
    kind, enum = key_type(key)
    where = f"at {op_token.position}"
    if op not in allowed_ops(key):
        raise InvalidFilterError(
            f"comparator {op.value} is not supported for {key} ({kind}) {where}",
            position=op_token.position,
        )
    values = value if isinstance(value, tuple) else (value,)
    if op in (Op.IS_NULL, Op.IS_NOT_NULL):
        return comparison
    for item in values:
        if op in (Op.LT, Op.LE, Op.GT, Op.GE) and isinstance(item, bool):
            raise InvalidFilterError(
                f"true/false cannot be ordered {where}", position=op_token.position
            )
        if op in (Op.LIKE, Op.ILIKE) and not isinstance(item, str):
            raise InvalidFilterError(
                f"{op.value} needs a string pattern {where}", position=op_token.position
            )
        if kind == KeyType.NUMBER and (
            isinstance(item, bool) or not isinstance(item, (int, float))
        ):
            raise InvalidFilterError(
                f"{key} is a number; got {item!r} {where}", position=op_token.position
            )
        if kind in (KeyType.STRING, KeyType.ENUM) and not isinstance(item, str):
            raise InvalidFilterError(
                f"{key} is a string; quote the value {item!r} {where}", position=op_token.position
            )
        if kind == KeyType.ENUM and item not in enum:
            raise InvalidFilterError(
                f"{key} must be one of {', '.join(enum)}; got {item!r} {where}",
                position=op_token.position,
            )
    return comparison
