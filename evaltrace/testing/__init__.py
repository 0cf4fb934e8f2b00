"""Test helpers that ship with evaltrace: an offline OpenAI-compatible server, and the quality
gate as an assertion (``assert_quality``, imported on first use)."""

from typing import TYPE_CHECKING, Any

from evaltrace.testing.openai_server import OpenAIServer, ScriptedReply

if TYPE_CHECKING:
    from evaltrace.testing.quality import assert_quality

__all__ = ["OpenAIServer", "ScriptedReply", "assert_quality"]


def __getattr__(name: str) -> Any:
    if name == "assert_quality":
        from evaltrace.testing.quality import assert_quality

        return assert_quality
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
