"""Store URIs without their passwords: what may be written to disk (spool lines) or shown."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["without_password"]

_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@")


@lru_cache(maxsize=64)
def without_password(uri: str) -> str:
    """``postgresql://u:secret@host/db`` -> ``postgresql://u:***@host/db`` (others unchanged)."""
    return _USERINFO.sub(lambda m: f"{m['head']}:***@", uri, count=1)
