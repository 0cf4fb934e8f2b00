"""``python -m evaltrace.cli``: the same as the ``evaltrace`` console script."""

from evaltrace.cli import main

main()
