"""python -m tfp_glow: see `tfp_glow.cli` (and `tfp_glow.start_up`)."""

import sys

import tensorflow as tf

from tfp_glow import cli, start_up

try:
  tf.config.list_physical_devices()   # TensorFlow's search for CUDA
except BaseException:
  start_up.release(show=True)
  raise
start_up.release()
sys.exit(cli.main())
