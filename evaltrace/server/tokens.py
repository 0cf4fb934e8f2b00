"""Who holds which token, and what each request needs.

A server is open (loopback, no token: one person on a laptop) or closed. A closed server knows
its tokens from ``EVALTRACE_SERVER_TOKEN`` (one token with every scope) and from
``EVALTRACE_SERVER_TOKENS_FILE``: one token per line, ``NAME SCOPE[,SCOPE...] sha256:HEX``
(``evaltrace tokens create`` writes such lines; the file never holds a token itself). Tokens
are compared by their SHA-256, each one every time (constant time, whatever matches), and
never logged.

Scopes (store/http_api.py): ``ingest`` sends traces (what a production service holds);
``read``; ``annotate`` (assessments, tags, labeling, datasets, runs; reads too); ``admin``
(everything: deleting traces, registered scorers).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from evaltrace.exceptions import InvalidArgumentError
from evaltrace.store.http_api import ADMIN, ANNOTATE, API_PREFIX, CALLS, INGEST, READ, SCOPES

__all__ = ["TokenHolder", "Tokens", "hashed", "new_token", "required_scopes", "token_line"]

_NAME = r"[A-Za-z0-9_.@-]{1,100}"
_LINE = re.compile(rf"^(?P<name>{_NAME})\s+(?P<scopes>[a-z,]+)\s+sha256:(?P<hash>[0-9a-f]{{64}})$")
# What only an admin may do: delete a trace, create, rename or delete an experiment (their JSON
# twins and the pages' forms).
_ADMIN_ONLY = (
    ("DELETE", re.compile(r"^/api/traces/[^/]+$")),
    ("POST", re.compile(r"^/traces/[^/]+/delete$")),
    ("POST", re.compile(r"^(/api)?/experiments$")),
    ("PATCH", re.compile(r"^/api/experiments/[^/]+$")),
    ("DELETE", re.compile(r"^/api/experiments/[^/]+$")),
    ("POST", re.compile(r"^/experiments/[^/]+/(rename|delete)$")),
)
_CALLS_BY_PATH = {f"{API_PREFIX}/{name.replace('.', '/')}": call for name, call in CALLS.items()}


@dataclass(frozen=True, slots=True)
class TokenHolder:
    name: str
    scopes: frozenset[str]


def hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "et_" + secrets.token_urlsafe(32)


def token_line(name: str, scopes: list[str], token: str) -> str:
    """The tokens file's line for ``token``."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise InvalidArgumentError(f"scopes must be among {', '.join(SCOPES)}; got {scopes}")
    if not re.fullmatch(_NAME, name):
        raise InvalidArgumentError(f"a token's name is letters, digits and _.@- ; got {name!r}")
    return f"{name} {','.join(sorted(set(scopes)))} sha256:{hashed(token)}"


class Tokens:
    """The tokens a closed server takes."""

    def __init__(self, holders: dict[str, TokenHolder]) -> None:
        self._by_hash = holders  # sha256 hex -> holder
        # The key user cookies are signed with: only the server knows every token's hash.
        self.signing_key = hashlib.sha256("".join(sorted(holders)).encode()).hexdigest()

    @classmethod
    def configured(cls, token: str | None, tokens_file: str | None) -> Tokens | None:
        """The server's tokens, or None for an open server (no token anywhere)."""
        holders: dict[str, TokenHolder] = {}
        if token:
            holders[hashed(token)] = TokenHolder("EVALTRACE_SERVER_TOKEN", frozenset(SCOPES))
        if tokens_file:
            holders.update(_read_file(Path(tokens_file)))
        return cls(holders) if holders else None

    def identify(self, given: str | None) -> TokenHolder | None:
        """The holder of ``given``, or None; every known hash is compared, match or not."""
        if not given:
            return None
        digest = hashed(given)
        found = None
        for known, holder in self._by_hash.items():
            if hmac.compare_digest(digest, known):
                found = holder
        return found


def _read_file(path: Path) -> dict[str, TokenHolder]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgumentError(
            f"EVALTRACE_SERVER_TOKENS_FILE {str(path)!r} cannot be read: {exc.strerror}"
        ) from None
    holders = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        scopes = frozenset(match["scopes"].split(",")) if match else frozenset()
        if match is None or not scopes <= set(SCOPES):
            raise InvalidArgumentError(
                f"{path}:{number}: expected 'NAME SCOPE[,SCOPE...] sha256:HEX' with scopes "
                f"among {', '.join(SCOPES)}"
            )
        holders[match["hash"]] = TokenHolder(match["name"], scopes)
    return holders


def required_scopes(method: str, path: str) -> frozenset[str]:
    """The scopes of which a token needs one for this request."""
    call = _CALLS_BY_PATH.get(path)
    if call is not None:
        return call.scopes
    if path == "/v1/traces":
        return INGEST
    if method in ("GET", "HEAD", "OPTIONS"):
        return READ
    if any(method == verb and pattern.match(path) for verb, pattern in _ADMIN_ONLY):
        return ADMIN  # (deleting an assessment is an annotator's)
    return ANNOTATE
