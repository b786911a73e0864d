"""``python -m emoscope.cli`` (e.g. under ``accelerate launch``) runs the ``emoscope`` command."""

import sys

from emoscope.cli import main

sys.exit(main())
