"""The command line's optimizer defaults, swept on real MNIST digits.

Trains tfp_glow's Glow (the loop of `quality.py`) for a fixed number of
steps with each Adam configuration (learning rate x warmup x global-norm
clipping), once per seed, and prints test bits/dim at a few step counts (the
mean over seeds, then each seed's), the non-finite steps and the largest
reconstruction error max|forward(inverse(x)) - x| of the trained flows.

  python benchmarks/optimizer_sweep.py                 # Glow 2 x 4, width 64
  python benchmarks/optimizer_sweep.py --steps 8 --width 128 --max-steps 600
  python benchmarks/optimizer_sweep.py --steps 8 --width 128 --seeds 0,1,2
"""

import argparse
import itertools

import numpy as np
import tensorflow as tf
from quality import bits_at_step, run

import tfp_glow


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--learning-rates', default='5e-4,1e-3,2e-3,3e-3')
  parser.add_argument('--warmups', default='0,100')
  parser.add_argument('--clip-norms', default='0,50')
  parser.add_argument('--max-steps', type=int, default=300)
  parser.add_argument('--eval-every', type=int, default=50)
  parser.add_argument('--levels', type=int, default=2)
  parser.add_argument('--steps', type=int, default=4, help='Glow K')
  parser.add_argument('--width', type=int, default=64)
  parser.add_argument('--seeds', default='0',
                      help='comma-separated; every configuration runs once per '
                           'seed (initialisation, data order and noise)')
  args = parser.parse_args()
  args.seconds = float('inf')
  (train, _), (test, _) = tfp_glow.data.mnist_5k()
  grid = list(itertools.product(
      [float(x) for x in args.learning_rates.split(',')],
      [int(x) for x in args.warmups.split(',')],
      [float(x) for x in args.clip_norms.split(',')]))
  seeds = [int(seed) for seed in args.seeds.split(',')]
  marks = [m for m in (100, 200, 300, 600, 1000) if m <= args.max_steps]
  print(f'TF {tf.__version__}; Glow {args.levels} x {args.steps}, width '
        f'{args.width}; {args.max_steps} steps of 64 mnist_5k digits; seeds '
        f'{seeds}\n\n| learning rate | warmup | clip | ' +
        ' | '.join(f'test bits/dim @{m}' for m in marks) +
        ' | non-finite steps | max recon error |\n|---|---|---|' +
        '---|' * (len(marks) + 2))
  for learning_rate, warmup, clip in grid:
    runs = [run('glow', args, train, test, {
        'learning_rate': learning_rate, 'warmup_steps': warmup,
        'clip_norm': clip or None}, seed=seed) for seed in seeds]

    def bits(mark, runs=runs):
      each = [bits_at_step(r['curve'], mark) for r in runs]
      spread = (f' ({", ".join(f"{b:.3f}" for b in each)})'
                if len(runs) > 1 else '')
      return f'{np.mean(each):.3f}{spread}'

    print(f'| {learning_rate:g} | {warmup} | {clip or "none"} | ' +
          ' | '.join(bits(m) for m in marks) +
          f' | {sum(r["nonfinite"] for r in runs)} | '
          f'{max(r["error"] for r in runs):.1e} |', flush=True)


if __name__ == '__main__':
  main()
