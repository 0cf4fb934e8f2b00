"""Test helpers that ship with evaltrace: an offline OpenAI-compatible server."""

from evaltrace.testing.openai_server import OpenAIServer, ScriptedReply

__all__ = ["OpenAIServer", "ScriptedReply"]
