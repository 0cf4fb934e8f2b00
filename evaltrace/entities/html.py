"""How a notebook shows our objects (``_repr_html_``): a title and a small table.

Everything shown may come from trace content, which is untrusted: each cell is escaped here,
and a caller passes plain text only (``Cell`` for the rare cell that carries its own style).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["NOTEBOOK_DISPLAY", "Cell", "html_table", "short_text"]


class _Switch:
    on = True


# Whether a notebook shows a Trace as a table (``evaltrace.tracing.disable_notebook_display``).
NOTEBOOK_DISPLAY = _Switch()

_MAX_CELL_CHARS = 160


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell's text with an indent (em) or right alignment: the only styles we emit."""

    text: str
    indent: float | None = None
    right: bool = False


def short_text(value: Any, limit: int = _MAX_CELL_CHARS) -> str:
    """A value as a table shows it: strings as they are, others as compact JSON, clipped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def html_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str | Cell]],
    *,
    total: int | None = None,
) -> str:
    """``title`` over a table of ``rows``; ``total`` rows exist when more than shown (said in a
    last row)."""
    body = ["<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows]
    if total is not None and total > len(rows):
        body.append(f'<tr><td colspan="{len(headers)}">... {total - len(rows):,} more</td></tr>')
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f"<div><b>{escape(title)}</b><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _cell(cell: str | Cell) -> str:
    if isinstance(cell, str):
        return f"<td>{escape(cell)}</td>"
    style = []
    if cell.indent is not None:
        style.append(f"padding-left:{cell.indent:.1f}em")
    if cell.right:
        style.append("text-align:right")
    return f'<td style="{";".join(style)}">{escape(cell.text)}</td>'
