"""``python -m daemon``: the same as the ``alvh`` console script."""

from daemon.cli import main

raise SystemExit(main())
