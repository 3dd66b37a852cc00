"""python -m tfp_glow: see `tfp_glow.cli`."""

import sys

from tfp_glow.cli import main

sys.exit(main())
