"""Trace ids that sort by time, so the store appends instead of inserting at random.

Every table keyed by trace id (traces, spans, span attributes, tags) has a B-tree index on it.
Random 128-bit ids send each new trace to a random leaf page, and once the database outgrows
the page cache every insert reads pages back from disk. Like UUIDv7, the first 48 bits here
are the creation time in milliseconds and the other 80 are random (W3C's "random" flag and
ratio samplers only need the low 56): new traces land at the index's right edge, and ids
stay unique.
"""

from __future__ import annotations

import random
import time

from opentelemetry.sdk.trace.id_generator import IdGenerator

__all__ = ["TimeOrderedIdGenerator"]

_RANDOM_BITS = 80
_TIME_MASK = (1 << 48) - 1


class TimeOrderedIdGenerator(IdGenerator):
    def generate_trace_id(self) -> int:
        millis = (time.time_ns() // 1_000_000) & _TIME_MASK
        return (millis << _RANDOM_BITS) | random.getrandbits(_RANDOM_BITS)

    def generate_span_id(self) -> int:
        span_id = random.getrandbits(64)
        while span_id == 0:  # the invalid span id
            span_id = random.getrandbits(64)
        return span_id

    def is_trace_id_random(self) -> bool:
        # W3C Trace Context level 2 asks for the right-most 7 bytes to be random: 10 are.
        return True
