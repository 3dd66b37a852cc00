"""tfp_glow's Glow in float32 against the same Glow under mixed_bfloat16.

Two copies of one architecture in one process, their training, `log_prob`
and `sample` steps timed in interleaved rounds (`throughput.Runner`): the
bfloat16 copy's networks are built under the `tf_keras` policy
`mixed_bfloat16`, its log-dets, ActNorm and loss stay float32. Prints
images/s (median over rounds) and the bfloat16 / float32 ratio, and the
matmul peaks of both formats (roofline.py).

  python benchmarks/precision.py              # 28x28x1, L=2, K=8, W=128, batch 64
"""

import argparse

import numpy as np
import tensorflow as tf
from roofline import PEAK_DTYPES, STEPS, matmul_peak
from throughput import (
    PRECISIONS,
    Runner,
    config_parser,
    machine,
    random_batch,
)


def main():
  parser = config_parser(__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--seconds', type=float, default=5.,
                      help='timing per format, step and round')
  args = parser.parse_args()
  batch = random_batch(args)
  runners = {precision: Runner('tfp_glow', argparse.Namespace(
      **{**vars(args), 'precision': precision}), batch)
             for precision in PRECISIONS}
  print(f'config: image {args.image}, L={args.levels}, K={args.steps}, '
        f'W={args.hidden}, batch {args.batch}, XLA {args.xla}')
  print(f'machine: {machine()}; TF {tf.__version__}')
  rounds = {(p, s): [] for p in PRECISIONS for s in STEPS}
  for step in STEPS:
    for _ in range(args.rounds):            # interleaved
      for precision, runner in runners.items():
        rounds[precision, step].append(runner.measure(step, args.seconds)[0])
  images = {key: float(np.median(value)) for key, value in rounds.items()}
  print('\n| images/s | ' + ' | '.join(STEPS) + ' |')
  print('|---|' + '---|' * len(STEPS))
  for precision in PRECISIONS:
    print(f'| {precision} | ' + ' | '.join(
        f'{images[precision, s]:.1f}' for s in STEPS) + ' |')
  print('| ratio bfloat16 / float32 | ' + ' | '.join(
      f'{images["bfloat16", s] / images["float32", s]:.2f}x'
      for s in STEPS) + ' |')
  print('\nmatmul peak GFLOP/s: ' + ', '.join(
      f'{dtype.name} {matmul_peak(dtype):.1f}' for dtype in PEAK_DTYPES))


if __name__ == '__main__':
  main()
