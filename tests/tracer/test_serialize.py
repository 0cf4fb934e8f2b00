"""Span attribute values: native where OpenTelemetry has the type, else exactly to_json's text."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from evaltrace._json import storable_text
from evaltrace.tracer.serialize import attribute_value, to_json

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
def test_attribute_values_are_native_or_the_json_text(value: object, max_chars: int) -> None:
    encoded, is_json = attribute_value(value, max_chars)
    if is_json:
        assert encoded == to_json(value, max_chars)
        json.loads(storable_text(encoded))  # valid JSON, whatever the value
    else:
        assert encoded is value
        assert type(value) in (str, bool, int, float)
        if isinstance(value, float):
            assert math.isfinite(value)
        if isinstance(value, int) and not isinstance(value, bool):
            assert -(2**63) <= value < 2**63
        if isinstance(value, str):
            assert len(value) <= max_chars


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def test_numpy_and_pandas_values_become_their_data_not_their_repr() -> None:
    import numpy as np
    import pandas as pd

    value = {
        "array": np.arange(1000),
        "scalar": np.float32(0.5),
        "flag": np.bool_(True),
        "matrix": np.array([[1, 2], [3, 4]]),
        "series": pd.Series([1.5, 2.5]),
        "frame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    }
    decoded = json.loads(to_json(value, 1_000_000))
    assert decoded["array"] == list(range(1000))  # not 'array([  0,   1, ..., 999])'
    assert decoded["scalar"] == 0.5 and decoded["flag"] is True
    assert decoded["matrix"] == [[1, 2], [3, 4]]
    assert decoded["series"] == [1.5, 2.5]
    assert decoded["frame"] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert json.loads(to_json(np.array([1.0, float("nan")]), 1000)) == [1.0, "nan"]  # as floats
