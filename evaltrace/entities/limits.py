"""Size limits of stored names and values (indexed columns must stay small)."""

from __future__ import annotations

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_SPAN_TYPE_CHARS",
    "MAX_TAG_KEY_CHARS",
    "MAX_TAG_VALUE_CHARS",
    "PREVIEW_CHARS",
]

MAX_NAME_CHARS = 500
MAX_SPAN_TYPE_CHARS = 100  # spans.span_type is VARCHAR(100): PostgreSQL enforces it
MAX_TAG_KEY_CHARS = 250
# A PostgreSQL btree entry must stay under ~2.7 kB: 500 characters of up to 4 bytes each.
MAX_TAG_VALUE_CHARS = 500
PREVIEW_CHARS = 1000
