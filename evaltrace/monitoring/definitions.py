"""How a registered scorer is stored, and loaded again by the monitor worker.

Four kinds, worked out from the scorer itself:
- ``import``: a ``@scorer`` function defined at the top level of an importable module, stored
  as ``"package.module:function"``;
- ``class``: an instance of a ``Scorer`` subclass from an importable module, stored as the
  class's path and the constructor arguments found on the instance;
- ``judge``: a built-in LLM judge, the same way; never its API key or client (the worker's own
  environment provides them) and never a header that looks like a secret;
- ``source``: a scorer defined in ``__main__`` or a notebook, stored by its source code (as the
  reference does). Its decorators are dropped and it runs with evaltrace's scorer names in
  scope: names it imports at module level are not there (import them inside the function).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import textwrap
from typing import Any

from evaltrace.evaluate.judges import JudgeScorer
from evaltrace.evaluate.scorers import Scorer, _FunctionScorer
from evaltrace.exceptions import InvalidArgumentError, ScorerLoadError
from evaltrace.tracer.redact import redact

__all__ = ["describe", "load", "unresolved_names"]

_NEVER_STORED = frozenset({"api_key", "client"})


def describe(scorer: Scorer, name: str) -> tuple[str, dict[str, Any]]:
    """(kind, definition) of ``scorer`` registered as ``name``."""
    if isinstance(scorer, _FunctionScorer):
        path = _importable_path(scorer.fn, scorer)
        if path is not None:
            return "import", {"path": path, "name": name}
        _check_standalone(scorer.fn)
        return "source", {
            "source": _source(scorer.fn),
            "function": scorer.fn.__name__,
            "name": name,
        }
    if type(scorer).__call__ is Scorer.__call__ and type(scorer).score is Scorer.score:
        raise InvalidArgumentError(f"{scorer!r} defines neither score() nor __call__()")
    arguments = {**_constructor_arguments(scorer), "name": name}
    kind = "judge" if isinstance(scorer, JudgeScorer) else "class"
    path = _importable_path(type(scorer), None)
    if path is not None:
        return kind, {"path": path, "arguments": arguments}
    return "source", {
        "source": _source(type(scorer)),
        "class": type(scorer).__name__,
        "arguments": arguments,
    }


def load(kind: str, definition: dict[str, Any], *, where: str) -> Scorer:
    """The scorer a definition describes; ``ScorerLoadError`` naming ``where`` (the scorer and
    version) and the cause when it cannot be loaded here."""
    try:
        if kind == "import":
            found = _resolve(definition["path"])
            if isinstance(found, Scorer):
                loaded = _renamed(found, definition["name"])
            elif callable(found):
                loaded = _FunctionScorer(found, definition["name"])
            else:
                raise TypeError(f"{definition['path']} is neither a scorer nor a function")
        elif kind in ("class", "judge"):
            cls = _resolve(definition["path"])
            loaded = cls(**definition["arguments"])
        elif kind == "source":
            namespace = _run_source(definition["source"])
            if "function" in definition:
                loaded = _FunctionScorer(namespace[definition["function"]], definition["name"])
            else:
                loaded = namespace[definition["class"]](**definition["arguments"])
        else:
            raise ValueError(f"unknown scorer kind {kind!r}")
    except Exception as exc:  # any failure to load is the same finding: say which and why
        raise ScorerLoadError(f"cannot load {where}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(loaded, Scorer):
        raise ScorerLoadError(f"cannot load {where}: it is not a Scorer ({type(loaded).__name__})")
    return loaded


def _renamed(found: Scorer, name: str) -> Scorer:
    if found.name == name:
        return found
    import copy

    renamed = copy.copy(found)
    renamed.name = name
    return renamed


def _importable_path(target: Any, scorer: Scorer | None) -> str | None:
    """``module:qualname`` if importing it gives back ``target`` (or the scorer made of it)."""
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return None
    path = f"{module}:{qualname}"
    try:
        found = _resolve(path)
    except Exception:  # not importable as named: store the source instead
        return None
    if found is target or (scorer is not None and found is scorer):
        return path
    if isinstance(found, _FunctionScorer) and found.fn is target:
        return path
    return None


def _resolve(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _constructor_arguments(scorer: Scorer) -> dict[str, Any]:
    """The arguments of the scorer's class's constructor that the instance holds as
    attributes of the same name, as JSON (a judge's model with its provider)."""
    arguments: dict[str, Any] = {}
    for parameter in _constructor_parameters(type(scorer)):
        name = parameter.name
        if name in ("self", "name") or name in _NEVER_STORED:
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if not hasattr(scorer, name):
            continue
        value = getattr(scorer, name)
        if name == "model" and isinstance(scorer, JudgeScorer):
            value = f"{scorer.provider}:/{scorer.model}"
        if name == "extra_headers" and isinstance(value, dict):
            kept = redact(value, ("extra_headers",))  # a secret header is dropped, not stored
            value = {k: v for k, v in value.items() if kept.get(k) == v}
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"cannot register {scorer!r}: its {name!r} ({type(value).__name__}) cannot be "
                "stored; pass JSON values to its constructor"
            ) from None
        if parameter.default is not inspect.Parameter.empty and value == parameter.default:
            continue
        arguments[name] = value
    return arguments


def _constructor_parameters(cls: type) -> list[inspect.Parameter]:
    """The constructor's parameters, and those of the base constructors it passes
    ``**kwargs`` on to (a judge subclass passes model=... to JudgeScorer)."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        parameters = inspect.signature(vars(klass)["__init__"]).parameters.values()
        for parameter in parameters:
            found.setdefault(parameter.name, parameter)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            break
    return list(found.values())


def _check_standalone(fn: Any) -> None:
    """A function stored by its source must make sense on its own."""
    if fn.__name__ == "<lambda>":
        raise InvalidArgumentError(
            "a lambda cannot be registered: define the scorer with def (in a module, or here)"
        )
    if getattr(fn, "__code__", None) is not None and fn.__code__.co_freevars:
        raise InvalidArgumentError(
            f"cannot register {fn.__name__!r}: it uses variables of the function it is defined "
            f"in ({', '.join(fn.__code__.co_freevars)}); define it at the top level of a module"
        )


def _source(target: Any) -> str:
    try:
        text = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        raise InvalidArgumentError(
            f"cannot register {getattr(target, '__name__', target)!r}: it is defined in "
            "__main__ and its source code cannot be read (define it in a module or a file)"
        ) from None
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            node.decorator_list = []
    return ast.unparse(tree)


def _run_source(source: str) -> dict[str, Any]:
    import evaltrace.scorers as public

    namespace: dict[str, Any] = {"__name__": "evaltrace_registered_scorer"}
    namespace.update({name: getattr(public, name) for name in public.__all__})
    from evaltrace.entities import Feedback

    namespace["Feedback"] = Feedback
    exec(compile(source, "<registered scorer>", "exec"), namespace)
    return namespace


def unresolved_names(definition: dict[str, Any]) -> list[str]:
    """Names a scorer stored by its source uses that the worker will not have: not defined in
    the source, not builtins, not among the names it runs with. A module-level ``import json``
    of the notebook is the usual one: the scorer then fails on every trace with NameError."""
    source = definition.get("source")
    if not isinstance(source, str):
        return []
    import builtins
    import symtable

    import evaltrace.scorers as public

    known = set(dir(builtins)) | set(public.__all__) | {"Feedback"}
    table = symtable.symtable(source, "<registered scorer>", "exec")
    defined = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_assigned()}
    used: set[str] = set()
    pending = list(table.get_children())
    while pending:
        child = pending.pop()
        pending.extend(child.get_children())
        used.update(
            symbol.get_name()
            for symbol in child.get_symbols()
            if symbol.is_referenced() and (symbol.is_global() or symbol.is_free())
        )
    return sorted(used - known - defined)
