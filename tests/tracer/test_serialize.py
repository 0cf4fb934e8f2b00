"""to_plain_json gives exactly what to_json's text decodes to (the writer uses the former)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from evaltrace.store.rows import storable_text
from evaltrace.tracer.serialize import to_json, to_plain_json

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)  # past 64 bits too
    | st.floats()  # NaN and infinities included
    | st.text()  # lone surrogates and NUL included
    | st.binary(max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
        | st.tuples(children, children)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_values, max_chars=st.sampled_from([8, 40, 1_000_000]))
def test_plain_value_equals_the_decoded_json_text(value: object, max_chars: int) -> None:
    expected = json.loads(storable_text(to_json(value, max_chars)))
    plain = to_plain_json(value, max_chars)
    assert _same(plain, expected), (value, plain, expected)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b
