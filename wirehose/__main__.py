"""``python -m wirehose`` is the ``wirehose`` command."""

from wirehose.cli import main

main()
