"""`python -m cbt_server` is the `cbt-server` command."""

import sys

from cbt_server.cli import main

sys.exit(main())
