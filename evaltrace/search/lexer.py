"""Tokens of the filter language, each with its character position."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from evaltrace.exceptions import InvalidFilterError

__all__ = ["Token", "TokenType", "tokenize"]


class TokenType(str, Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    OP = "comparator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    EOF = "end of filter"


@dataclass(frozen=True, slots=True)
class Token:
    type: TokenType
    value: str | int | float
    position: int
    # For identifiers: the dot-separated parts, with backquoted parts kept whole.
    parts: tuple[str, ...] = ()
    quoted: bool = False

    @property
    def word(self) -> str:
        """An unquoted one-part identifier in upper case (keywords), else ''."""
        if self.type is TokenType.IDENT and len(self.parts) == 1 and not self.quoted:
            return str(self.value).upper()
        return ""


_COMPARATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def tokenize(text: str) -> list[Token]:
    _require_storable(text)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            value, i_end = _string(text, i)
            tokens.append(Token(TokenType.STRING, value, i))
            i = i_end
        elif ch == "(":
            tokens.append(Token(TokenType.LPAREN, ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token(TokenType.RPAREN, ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token(TokenType.COMMA, ch, i))
            i += 1
        elif ch.isdigit() or (ch in "-+." and i + 1 < n and text[i + 1] in "0123456789."):
            number, i_end = _number(text, i)
            tokens.append(Token(TokenType.NUMBER, number, i))
            i = i_end
        elif ch.isalpha() or ch in "_`":
            token, i = _identifier(text, i)
            tokens.append(token)
        else:
            for op in _COMPARATORS:
                if text.startswith(op, i):
                    tokens.append(Token(TokenType.OP, "!=" if op == "<>" else op, i))
                    i += len(op)
                    break
            else:
                raise InvalidFilterError(f"unexpected character {ch!r} at {i}", position=i)
    tokens.append(Token(TokenType.EOF, "", n))
    return tokens


def _require_storable(text: str) -> None:
    """No NUL and no lone surrogate: neither can be sent to the store (they used to surface
    as the driver's UnicodeEncodeError)."""
    if text.isascii() and "\x00" not in text:
        return
    for position, ch in enumerate(text):
        if ch == "\x00" or "\ud800" <= ch <= "\udfff":
            what = "a NUL character" if ch == "\x00" else "a lone surrogate"
            raise InvalidFilterError(f"{what} at {position}", position=position)


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "0":
                raise InvalidFilterError(
                    f"a NUL character (\\0) at {i} cannot be stored or matched", position=i
                )
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        elif ch == quote:
            if i + 1 < len(text) and text[i + 1] == quote:  # SQL-style doubled quote
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise InvalidFilterError(f"unterminated string starting at {start}", position=start)


def _number(text: str, start: int) -> tuple[int | float, int]:
    i = start + 1
    while i < len(text) and (text[i].isalnum() or text[i] in ".+-_"):
        if text[i] in "+-" and text[i - 1] not in "eE":
            break
        i += 1
    raw = text[start:i]
    try:
        number = int(raw) if raw.lstrip("+-").isdigit() else float(raw)
    except ValueError:
        raise InvalidFilterError(f"invalid number {raw!r} at {start}", position=start) from None
    if isinstance(number, int) and not -(2**63) <= number < 2**63:
        raise InvalidFilterError(
            f"integer {raw} at {start} is out of range (64 bits); write it as a float",
            position=start,
        )
    return number, i


def _identifier(text: str, start: int) -> tuple[Token, int]:
    parts: list[str] = []
    quoted = False
    i = start
    while True:
        if i < len(text) and text[i] == "`":
            end = text.find("`", i + 1)
            if end == -1:
                raise InvalidFilterError(f"unterminated backquote at {i}", position=i)
            parts.append(text[i + 1 : end])
            quoted = True
            i = end + 1
        else:
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            if j == i:
                raise InvalidFilterError(f"expected a name at {i}", position=i)
            parts.append(text[i:j])
            i = j
        if (
            i < len(text)
            and text[i] == "."
            and i + 1 < len(text)
            and (text[i + 1].isalnum() or text[i + 1] in "_`")
        ):
            i += 1
            continue
        break
    return Token(TokenType.IDENT, ".".join(parts), start, tuple(parts), quoted), i
