"""Losing a worker: two workers on localhost, one killed, both started again.

    python benchmarks/worker_fault.py DIR

Starts `python -m tfp_glow train --strategy multi_worker` (a small Glow, 3
epochs of mnist_5k) as two worker processes writing to DIR/run, kills
worker 1 once epoch 1 is in history.csv, and reports how long worker 0 took
to stop and with what error. Then starts both again with the same command
and prints the epochs in history.csv: 0, 1, 2, none lost or repeated.
Logs go to DIR/{first,second}_{0,1}.log. A demonstration, not a test (it
takes minutes on 2 CPU cores).
"""

import csv
import os
import pathlib
import subprocess
import sys
import time

from tfp_glow.local_cluster import worker_environments

ROOT = pathlib.Path(__file__).parents[1]
TRAIN = ['--dataset', 'mnist_5k', '--epochs', '3', '--batch-size', '500',
         '--levels', '1', '--steps-per-level', '1', '--hidden-channels', '8',
         '--strategy', 'multi_worker']


def start(directory: str, tag: str) -> list[subprocess.Popen]:
  workers = []
  for index, environment in enumerate(worker_environments(2)):
    with open(os.path.join(directory, f'{tag}_{index}.log'), 'w') as log:
      workers.append(subprocess.Popen(
          [sys.executable, '-m', 'tfp_glow', 'train', *TRAIN, '--out',
           os.path.join(directory, 'run')],
          cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT))
  return workers


def epochs(directory: str) -> list[str]:
  path = os.path.join(directory, 'run', 'history.csv')
  if not os.path.exists(path):
    return []
  with open(path) as file:
    return [row['epoch'] for row in csv.DictReader(file)]


def main(directory: str) -> None:
  os.makedirs(directory, exist_ok=True)
  workers = start(directory, 'first')
  while not epochs(directory) and workers[0].poll() is None:
    time.sleep(0.2)
  workers[1].kill()
  killed = time.perf_counter()
  try:
    workers[0].wait(timeout=300)
    with open(os.path.join(directory, 'first_0.log')) as log:
      last_line = log.read().strip().splitlines()[-1]
    print(f'worker 1 killed after epoch 1; worker 0 stopped '
          f'{time.perf_counter() - killed:.1f} s later with exit status '
          f'{workers[0].returncode}:\n  {last_line}')
  except subprocess.TimeoutExpired:
    workers[0].kill()
    print('worker 0 still ran 300 s after worker 1 was killed')
  print(f'history.csv: epochs {epochs(directory)}')
  workers = start(directory, 'second')
  for worker in workers:
    worker.wait(timeout=1800)
  print(f'both started again: exit statuses {[w.returncode for w in workers]}, '
        f'history.csv: epochs {epochs(directory)}')


if __name__ == '__main__':
  main(sys.argv[1])
