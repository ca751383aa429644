"""`python -m bot` is the same program as the `paper-surfer` command."""

import sys

from bot.cli import main

sys.exit(main())
