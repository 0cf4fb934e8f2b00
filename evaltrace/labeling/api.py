"""Label schemas and labeling sessions: create, find, delete (the reference's names)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaltrace._config import current_user
from evaltrace._session import get_session
from evaltrace._validation import require_text
from evaltrace.entities.labeling import (
    BUILTIN_SCHEMAS,
    InputCategorical,
    InputCategoricalList,
    InputNumeric,
    InputText,
    InputTextList,
    LabelSchema,
)
from evaltrace.entities.limits import MAX_NAME_CHARS, MAX_TAG_KEY_CHARS
from evaltrace.exceptions import InvalidArgumentError, NotFoundError
from evaltrace.labeling.session import LabelingSession, _users

__all__ = [
    "create_label_schema",
    "create_labeling_session",
    "delete_label_schema",
    "delete_labeling_session",
    "get_label_schema",
    "get_labeling_session",
    "get_labeling_sessions",
]

_INPUT_TYPES = (InputCategorical, InputCategoricalList, InputNumeric, InputText, InputTextList)


def create_label_schema(
    name: str,
    *,
    type: str,
    title: str,
    input: Any,
    instruction: str | None = None,
    enable_comment: bool = False,
    overwrite: bool = False,
) -> LabelSchema:
    """A question reviewers answer: ``type`` "feedback" (a judgment) or "expectation" (ground
    truth); ``input`` says which answers are allowed (InputCategorical(options=[...]), ...)."""
    require_text(name, "name")
    if len(name) > MAX_TAG_KEY_CHARS:
        raise InvalidArgumentError(f"name must be at most {MAX_TAG_KEY_CHARS} characters")
    if type not in ("feedback", "expectation"):
        raise InvalidArgumentError(f"type must be 'feedback' or 'expectation', got {type!r}")
    if not isinstance(input, _INPUT_TYPES):
        names = ", ".join(kind.__name__ for kind in _INPUT_TYPES)
        raise InvalidArgumentError(f"input must be one of {names}")
    if name in BUILTIN_SCHEMAS and not overwrite:
        raise InvalidArgumentError(f"{name!r} is a built-in schema; pass overwrite=True")
    schema = LabelSchema(
        name=name,
        type=type,  # type: ignore[arg-type]
        title=require_text(title, "title"),
        input=input,
        instruction=require_text(instruction, "instruction", optional=True),
        enable_comment=bool(enable_comment),
    )
    get_session().store().labeling.save_schema(schema, overwrite=overwrite)
    return schema


def get_label_schema(name: str) -> LabelSchema:
    """A stored schema, or one of the built-ins (expected_response, expected_facts,
    guidelines)."""
    found = get_session().store().labeling.get_schema(require_text(name, "name"))
    if found is None:
        found = BUILTIN_SCHEMAS.get(name)
    if found is None:
        raise NotFoundError(f"no label schema named {name!r}")
    return found


def delete_label_schema(name: str) -> None:
    if not get_session().store().labeling.delete_schema(require_text(name, "name")):
        raise NotFoundError(f"no label schema named {name!r}")


def create_labeling_session(
    name: str,
    *,
    assigned_users: Sequence[str] = (),
    label_schemas: Sequence[str] = ("expected_response",),
    labels_per_item: int = 1,
) -> LabelingSession:
    """A new, empty session in the active experiment; add traces with ``add_traces``."""
    require_text(name, "name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidArgumentError(f"name must be at most {MAX_NAME_CHARS} characters")
    if (
        isinstance(labels_per_item, bool)
        or not isinstance(labels_per_item, int)
        or not (1 <= labels_per_item <= 100)
    ):
        raise InvalidArgumentError(
            f"labels_per_item must be an integer from 1 to 100, got {labels_per_item!r}"
        )
    if isinstance(label_schemas, str):
        label_schemas = [label_schemas]
    names = [
        schema.name if isinstance(schema, LabelSchema) else require_text(schema, "label_schemas")
        for schema in label_schemas
    ]
    for schema_name in names:
        get_label_schema(schema_name)  # NotFoundError naming it
    session = get_session()
    info = session.store().labeling.create_session(
        name,
        experiment_id=session.experiment_id(),
        assigned_users=_users(list(assigned_users)),
        label_schemas=names,
        labels_per_item=labels_per_item,
        created_by=current_user(),
    )
    return LabelingSession(info)


def get_labeling_sessions() -> list[LabelingSession]:
    """Every labeling session, oldest first."""
    return [LabelingSession(info) for info in get_session().store().labeling.sessions()]


def get_labeling_session(labeling_session_id: str) -> LabelingSession:
    info = (
        get_session()
        .store()
        .labeling.get_session(require_text(labeling_session_id, "labeling_session_id"))
    )
    return LabelingSession(info)


def delete_labeling_session(session: LabelingSession | str) -> None:
    """Delete the session and its queue (the labels stay on the traces)."""
    session_id = session.labeling_session_id if isinstance(session, LabelingSession) else session
    get_session().store().labeling.delete_session(require_text(session_id, "session"))
