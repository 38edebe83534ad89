"""`python -m harness ...`: the command line, as the `harness` console script."""

import sys

from harness.cli import main

sys.exit(main())
