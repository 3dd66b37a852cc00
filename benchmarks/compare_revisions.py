"""Side-by-side throughput of tfp_glow at several git revisions.

Each revision is checked out into a temporary git worktree and loaded by its
own worker process (the library comes from the worktree, the timing code
from this checkout). The workers are alive together and time their steps in
turns, round after round, so a slow phase of a shared machine hits every
revision alike. Prints the median images/s and CPU ms per batch of each
revision and its ratio to the first.

  python benchmarks/compare_revisions.py HEAD~1 HEAD
  python benchmarks/compare_revisions.py main my-branch --measure train \\
      --hidden 512
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from throughput import STEPS, config_parser

WORKER = '--worker'
HERE = pathlib.Path(__file__).resolve().parent   # inside the repository


def worker(argv: list[str]) -> None:
  """Builds tfp_glow from sys.path; answers 'step seconds' lines with JSON."""
  from throughput import Runner, random_batch  # TensorFlow only here.
  args, _ = config_parser('worker').parse_known_args(argv)
  runner = Runner('tfp_glow', args, random_batch(args))
  import tfp_glow
  print(json.dumps({'library': tfp_glow.__file__}), flush=True)
  for line in sys.stdin:
    step, seconds = line.split()
    images_per_second, cpu_ms = runner.measure(step, float(seconds))
    print(json.dumps([images_per_second, cpu_ms]), flush=True)


class Revision:
  """A worktree at `revision` and a worker process that imports from it."""

  def __init__(self, revision: str, tree: pathlib.Path, config: list[str]):
    self.name = revision
    self.tree = tree
    _git('worktree', 'add', '--detach', '--quiet', str(tree), revision)
    environment = {**os.environ, 'PYTHONPATH': str(self.tree)}
    self.process = subprocess.Popen(
        [sys.executable, __file__, WORKER, *config], env=environment,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
      greeting = self.process.stdout.readline()
      if not greeting:
        raise RuntimeError(f'{revision}: the worker failed (see above)')
      library = json.loads(greeting)['library']
      if not pathlib.Path(library).is_relative_to(self.tree):
        raise RuntimeError(f'{revision}: imported {library}, not the worktree')
    except BaseException:
      self.close()
      raise

  def measure(self, step: str, seconds: float) -> list[float]:
    self.process.stdin.write(f'{step} {seconds}\n')
    self.process.stdin.flush()
    return json.loads(self.process.stdout.readline())

  def close(self) -> None:
    self.process.stdin.close()
    self.process.wait()
    _git('worktree', 'remove', '--force', str(self.tree))


def _git(*arguments: str) -> None:
  subprocess.run(['git', '-C', str(HERE), *arguments], check=True)


def main():
  if sys.argv[1:2] == [WORKER]:
    return worker(sys.argv[2:])
  parser = config_parser(__doc__.splitlines()[0])
  parser.add_argument('revisions', nargs='+', help='git revisions, >= 2')
  parser.add_argument('--measure', default='train,log_prob',
                      help=f'comma-separated steps, of {", ".join(STEPS)}')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--seconds', type=float, default=3.)
  args = parser.parse_args()
  steps = args.measure.split(',')
  if len(args.revisions) < 2 or not set(steps) <= set(STEPS):
    parser.error(f'give two or more revisions, and steps of {STEPS}')
  revisions = []
  with tempfile.TemporaryDirectory() as root:
    try:
      for index, revision in enumerate(args.revisions):
        tree = pathlib.Path(root) / str(index)
        revisions.append(Revision(revision, tree, sys.argv[1:]))
      results = [{step: [] for step in steps} for _ in revisions]
      for _ in range(args.rounds):
        for step in steps:
          for revision, result in zip(revisions, results, strict=True):
            result[step].append(revision.measure(step, args.seconds))
    finally:
      for revision in revisions:
        revision.close()
  print(f'image {args.image}, L={args.levels}, K={args.steps}, '
        f'W={args.hidden}, batch {args.batch}; median of {args.rounds} '
        f'rounds of {args.seconds} s\n')
  print('| revision | ' + ' | '.join(
      f'{s} img/s | {s} CPU ms | {s} ratio' for s in steps) + ' |')
  print('|---' * (1 + 3 * len(steps)) + '|')
  medians = [{step: np.median(result[step], axis=0) for step in steps}
             for result in results]
  for revision, median in zip(revisions, medians, strict=True):
    cells = []
    for step in steps:
      images_per_second, cpu_ms = median[step]
      cells += [f'{images_per_second:.1f}', f'{cpu_ms:.1f}',
                f'{images_per_second / medians[0][step][0]:.2f}x']
    print(f'| {revision.name} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
  main()
