"""The ``evaltrace`` command line (a console script): every command takes ``--tracking-uri``,
prints tables on a terminal and JSON when piped, and reports errors as one line on stderr
with a non-zero exit code."""

from __future__ import annotations

import click

from evaltrace.cli._common import EvaltraceGroup
from evaltrace.cli.datasets import datasets
from evaltrace.cli.db import db
from evaltrace.cli.eval import eval_group
from evaltrace.cli.experiments import experiments
from evaltrace.cli.monitor import monitor
from evaltrace.cli.prompts import prompts
from evaltrace.cli.runs import runs
from evaltrace.cli.server import server_command
from evaltrace.cli.spool import spool
from evaltrace.cli.tokens import tokens
from evaltrace.cli.traces import traces

__all__ = ["main"]


@click.group(cls=EvaltraceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evaltrace")
def main() -> None:
    """evaltrace: look at, search, annotate and move traces, datasets and evaluation runs.

    \b
    Examples:
      evaltrace server                      # the UI on http://127.0.0.1:5000
      evaltrace traces search -f "attributes.status = 'ERROR'"
      evaltrace datasets export qa-golden -o golden.jsonl
      evaltrace monitor                     # run registered scorers on live traces
    """


main.add_command(server_command)
main.add_command(server_command, name="ui")
main.add_command(traces)
main.add_command(experiments)
main.add_command(eval_group)
main.add_command(prompts)
main.add_command(datasets)
main.add_command(runs)
main.add_command(db)
main.add_command(spool)
main.add_command(monitor)
main.add_command(tokens)
