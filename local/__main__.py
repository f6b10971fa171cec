"""Entry point: ``python -m local COMMAND``."""
import sys

from local.cli import main

sys.exit(main())
