"""Registered scorers: register, start, update, stop, list, get, delete, backfill (the
reference's names). Each returns a new scorer object; the one it was called on is unchanged."""

from __future__ import annotations

import copy
import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaltrace._session import get_session
from evaltrace._validation import require_text
from evaltrace.entities.limits import MAX_TAG_KEY_CHARS
from evaltrace.entities.monitoring import ScorerRegistration, ScorerSamplingConfig, ScorerStatus
from evaltrace.evaluate.scorers import Scorer
from evaltrace.exceptions import InvalidArgumentError, ScorerLoadError
from evaltrace.monitoring import definitions

_log = logging.getLogger("evaltrace")

__all__ = [
    "BackfillScorerConfig",
    "backfill_scorers",
    "delete_scorer",
    "get_scorer",
    "list_scorers",
    "load_registered",
    "monitor_status",
    "register",
    "start",
    "stop",
    "update",
]


@dataclass(frozen=True, slots=True)
class BackfillScorerConfig:
    """A scorer for ``backfill_scorers`` with a sample rate of its own for the backfill."""

    scorer: Any  # a registered Scorer or its name
    sample_rate: float | None = None


def _experiment(experiment_id: str | None) -> str:
    return str(experiment_id) if experiment_id is not None else get_session().experiment_id()


def _monitors() -> Any:
    return get_session().store().monitors


def _name(scorer: Scorer, name: str | None) -> str:
    chosen = require_text(name if name is not None else scorer.name, "name")
    if len(chosen) > MAX_TAG_KEY_CHARS:
        raise InvalidArgumentError(f"a scorer name is at most {MAX_TAG_KEY_CHARS} characters")
    return chosen


def _with(scorer: Scorer, registration: ScorerRegistration) -> Scorer:
    registered = copy.copy(scorer)
    registered.name = registration.name
    registered._registration = registration
    return registered


def _reread(scorer: Scorer, registration: ScorerRegistration) -> Scorer:
    """A copy of ``scorer`` carrying its registration as stored now."""
    return _with(scorer, _monitors().get(registration.experiment_id, registration.name))


def register(scorer: Scorer, name: str | None = None, experiment_id: str | None = None) -> Scorer:
    """Store the scorer in the experiment (a new version when its definition changed);
    stopped until ``start()``."""
    chosen = _name(scorer, name)
    experiment = _experiment(experiment_id)
    kind, definition = definitions.describe(scorer, chosen)
    missing = definitions.unresolved_names(definition)
    if missing:
        _log.warning(
            "evaltrace: scorer %r is stored by its source and uses %s, which the monitor "
            "worker will not have (it runs the source alone): import them inside the "
            "function, or define the scorer in a module",
            chosen,
            ", ".join(missing),
        )
    monitors = _monitors()
    monitors.register(experiment, chosen, kind, definition)
    return _with(scorer, monitors.get(experiment, chosen))


def _registered(scorer: Scorer, name: str | None, experiment_id: str | None) -> ScorerRegistration:
    chosen = _name(scorer, name)
    experiment = experiment_id or (
        scorer._registration.experiment_id if scorer._registration is not None else None
    )
    return _monitors().get(_experiment(experiment), chosen)  # ScorerNotFoundError: register()


def start(
    scorer: Scorer,
    name: str | None = None,
    sampling_config: ScorerSamplingConfig | None = None,
    experiment_id: str | None = None,
) -> Scorer:
    """Judge live traces from now on, with the sampling given (default: every trace)."""
    registration = _registered(scorer, name, experiment_id)
    config = sampling_config or ScorerSamplingConfig(sample_rate=1.0)
    _set(registration, "active", config, keep=None)
    return _reread(scorer, registration)


def update(
    scorer: Scorer,
    name: str | None = None,
    sampling_config: ScorerSamplingConfig | None = None,
    experiment_id: str | None = None,
) -> Scorer:
    """Change the sampling of a registered scorer (fields not given keep their value)."""
    registration = _registered(scorer, name, experiment_id)
    _set(
        registration,
        registration.state,
        sampling_config or ScorerSamplingConfig(),
        keep=registration,
    )
    return _reread(scorer, registration)


def stop(scorer: Scorer, name: str | None = None, experiment_id: str | None = None) -> Scorer:
    """Stop judging live traces (sample rate 0); traces that come meanwhile are recorded as
    ``stopped``. Results so far stay."""
    registration = _registered(scorer, name, experiment_id)
    config = ScorerSamplingConfig(
        0.0, registration.filter_string, registration.max_per_hour, registration.max_concurrency
    )
    _set(registration, "stopped", config, keep=None)
    return _reread(scorer, registration)


def _set(
    registration: ScorerRegistration,
    state: str,
    config: ScorerSamplingConfig,
    keep: ScorerRegistration | None,
) -> None:
    if not isinstance(config, ScorerSamplingConfig):
        raise InvalidArgumentError("sampling_config must be a ScorerSamplingConfig")

    def chosen(field: str, default: Any) -> Any:
        given = getattr(config, field)
        if given is not None:
            return given
        return getattr(keep, field) if keep is not None else default

    _monitors().set_sampling(
        registration.experiment_id,
        registration.name,
        state=state,
        sample_rate=float(chosen("sample_rate", 1.0)),
        filter_string=chosen("filter_string", None),
        max_per_hour=chosen("max_per_hour", None),
        max_concurrency=chosen("max_concurrency", None),
    )


class UnloadableScorer(Scorer):
    """A registered scorer this process cannot load: listed with its registration, and
    failing with the reason when called."""

    def __init__(self, name: str, problem: ScorerLoadError) -> None:
        super().__init__(name=name)
        self.problem = problem

    def __call__(self, **arguments: Any) -> Any:
        raise self.problem


def load_registered(registration: ScorerRegistration) -> Scorer:
    """The scorer a registration describes, carrying it; ``ScorerLoadError`` if it cannot be
    loaded in this process."""
    where = f"registered scorer {registration.name!r} version {registration.version}"
    loaded = definitions.load(registration.kind, registration.definition, where=where)
    return _with(loaded, registration)


def _loaded_or_placeholder(registration: ScorerRegistration) -> Scorer:
    try:
        return load_registered(registration)
    except ScorerLoadError as problem:
        return _with(UnloadableScorer(registration.name, problem), registration)


def list_scorers(experiment_id: str | None = None) -> list[Scorer]:
    """The experiment's registered scorers (current versions), by name."""
    return [_loaded_or_placeholder(r) for r in _monitors().registered(_experiment(experiment_id))]


def get_scorer(
    *, name: str, experiment_id: str | None = None, version: int | None = None
) -> Scorer:
    """One registered scorer (its current version unless ``version``);
    ``ScorerNotFoundError`` if there is none."""
    require_text(name, "name")
    return _loaded_or_placeholder(_monitors().get(_experiment(experiment_id), name, version))


def delete_scorer(
    *, name: str, experiment_id: str | None = None, version: int | None = None
) -> None:
    """Delete a registered scorer (or one of its older versions). Its Feedback stays."""
    require_text(name, "name")
    _monitors().delete(_experiment(experiment_id), name, version)


def backfill_scorers(
    *,
    scorers: Sequence[Any],
    experiment_id: str | None = None,
    start_time: datetime.datetime | int | None = None,
    end_time: datetime.datetime | int | None = None,
    filter_string: str | None = None,
) -> int:
    """Queue past traces (``start_time`` <= request time < ``end_time``: datetimes or epoch
    milliseconds) for registered scorers (objects, names or ``BackfillScorerConfig``), each
    with its own filter and sample rate (every trace for a scorer that is not started). The
    monitor worker judges them; a trace a version has judged already is not judged again.
    Returns how many traces were looked at."""
    if isinstance(scorers, (str, Scorer, BackfillScorerConfig)):
        scorers = [scorers]
    if not scorers:
        raise InvalidArgumentError("give at least one registered scorer to backfill")
    names, rates = [], {}
    for item in scorers:
        target, rate = (
            (item.scorer, item.sample_rate)
            if isinstance(item, BackfillScorerConfig)
            else (item, None)
        )
        name = target if isinstance(target, str) else getattr(target, "name", None)
        if not isinstance(name, str):
            raise InvalidArgumentError(f"not a registered scorer or its name: {target!r}")
        if rate is not None:
            ScorerSamplingConfig(sample_rate=rate)  # checked
            rates[name] = float(rate)
        names.append(name)
    return int(
        _monitors().backfill(
            _experiment(experiment_id),
            names,
            start_time_ms=_ms(start_time, "start_time"),
            end_time_ms=_ms(end_time, "end_time"),
            filter_string=filter_string,
            sample_rates=rates,
        )
    )


def _ms(value: datetime.datetime | int | None, argument: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.astimezone()  # a naive datetime is local time, as datetime says
        return int(value.timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidArgumentError(f"{argument} must be a datetime or epoch milliseconds")


def monitor_status(experiment_id: str | None = None) -> list[ScorerStatus]:
    """Per registered scorer: outcome counts, lag (oldest trace not judged yet), budget."""
    return list(_monitors().status(_experiment(experiment_id)))
