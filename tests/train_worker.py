"""`python -m tfp_glow train` in a worker process, then its state saved.

    python -m tests.train_worker STATE.npz TRAIN_ARGUMENTS...

runs `train` with TRAIN_ARGUMENTS (TF_CONFIG comes from the environment)
and writes `state(model)` of the trained model to STATE.npz, for
tests/test_multi_worker.py to compare across processes.
"""

import sys

import numpy as np
import tensorflow as tf

from tfp_glow import cli

# One fixed image: its log-likelihood differs only by dequantization noise.
PROBE = np.full([1, 28, 28, 1], 128, np.uint8)


def state(model) -> dict:
  """The flow's variables by position, and each local replica's
  log-likelihood of `PROBE` (one draw of dequantization noise each)."""
  strategy = model.distribute_strategy
  per_replica = strategy.run(tf.function(model.log_likelihood), (PROBE,))
  return {
      **{f'{i}:{v.name}': v.numpy() for i, v in enumerate(model.flow.variables)},
      'log_likelihood': np.concatenate(
          [t.numpy() for t in strategy.experimental_local_results(per_replica)]),
  }


def main(path: str, *train_arguments: str) -> None:
  model = cli.run_train(cli._parser().parse_args(['train', *train_arguments]))  # pylint: disable=protected-access
  np.savez(path, **state(model))


if __name__ == '__main__':
  main(*sys.argv[1:])
