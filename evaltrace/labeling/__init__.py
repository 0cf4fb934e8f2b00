"""Labeling sessions: experts label traces against label schemas; labels become assessments
on the traces and, synced, dataset records (``import evaltrace.labeling as labeling``)."""

from evaltrace.entities.labeling import (
    InputCategorical,
    InputCategoricalList,
    InputNumeric,
    InputText,
    InputTextList,
    LabelingItem,
    LabelSchema,
)
from evaltrace.labeling.api import (
    create_label_schema,
    create_labeling_session,
    delete_label_schema,
    delete_labeling_session,
    get_label_schema,
    get_labeling_session,
    get_labeling_sessions,
)
from evaltrace.labeling.session import LabelingSession

__all__ = [
    "InputCategorical",
    "InputCategoricalList",
    "InputNumeric",
    "InputText",
    "InputTextList",
    "LabelSchema",
    "LabelingItem",
    "LabelingSession",
    "create_label_schema",
    "create_labeling_session",
    "delete_label_schema",
    "delete_labeling_session",
    "get_label_schema",
    "get_labeling_session",
    "get_labeling_sessions",
]
