"""`train --strategy multi_worker` in two worker processes on localhost."""

import os
import pathlib
import subprocess
import sys

import numpy as np

from tests import train_worker
from tfp_glow import cli, runs
from tfp_glow.local_cluster import worker_environments

ROOT = pathlib.Path(__file__).parents[1]
# 9 steps of 500 digits (250 per worker), then 500 test digits.
TRAIN = ['--dataset', 'mnist_5k', '--epochs', '1', '--batch-size', '500',
         '--levels', '1', '--steps-per-level', '1', '--hidden-channels', '8']
# float32 weights after 9 steps of Adam; the test passes at this tolerance.
WEIGHT_TOLERANCE = 1e-6
TIMEOUT_S = 600


def start_workers(tmp_path, train_arguments) -> list[subprocess.Popen]:
  """Two workers of one cluster; worker i saves its state to state_i.npz."""
  workers = []
  for index, environment in enumerate(worker_environments(2)):
    with open(tmp_path / f'worker_{index}.log', 'w') as log:
      workers.append(subprocess.Popen(
          [sys.executable, '-m', 'tests.train_worker',
           str(tmp_path / f'state_{index}.npz'), *train_arguments],
          cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT))
  return workers


def test_two_workers_train_like_one_process_with_two_replicas(
    tmp_path, mirrored_strategy, monkeypatch):
  """Worker i is replica i of a one-process MirroredStrategy run: the same
  global batches, seeds, ActNorm initialisation and dequantization noise."""
  out = str(tmp_path / 'run')
  workers = start_workers(tmp_path, [*TRAIN, '--out', out,
                                     '--strategy', 'multi_worker'])
  try:
    # Meanwhile the reference: this process, two replicas on two CPUs.
    monkeypatch.setitem(cli.STRATEGIES, 'mirrored', lambda: mirrored_strategy)
    reference_out = str(tmp_path / 'reference')
    reference = train_worker.state(cli.run_train(cli._parser().parse_args(  # pylint: disable=protected-access
        ['train', *TRAIN, '--out', reference_out, '--strategy', 'mirrored'])))
    for worker in workers:
      worker.wait(timeout=TIMEOUT_S)
  finally:
    for worker in workers:
      if worker.poll() is None:
        worker.kill()
  logs = [(tmp_path / f'worker_{i}.log').read_text() for i in range(2)]
  assert [w.returncode for w in workers] == [0, 0], logs[0][-3000:] + logs[1][-3000:]

  chief, other = (np.load(tmp_path / f'state_{i}.npz') for i in range(2))
  names = [name for name in chief.files if name != 'log_likelihood']
  assert len(names) == len(reference) - 1
  for name in names:
    # Identical on both workers, ActNorms included (initialised from the
    # global batch), and as in one process (matched by position: Keras
    # numbers layer names per process).
    np.testing.assert_array_equal(chief[name], other[name], err_msg=name)
    position = name.split(':')[0] + ':'
    (same,) = [key for key in reference if key.startswith(position)]
    np.testing.assert_allclose(chief[name], reference[same],
                               atol=WEIGHT_TOLERANCE, err_msg=name)
  assert all(chief[n] for n in names if n.endswith('initialized:0'))
  shifts = [n for n in names if n.endswith('shift:0')]
  assert shifts and all(np.any(chief[n] != 0) for n in shifts)
  # Each worker draws the noise of its global replica id.
  np.testing.assert_array_equal(chief['log_likelihood'],
                                reference['log_likelihood'][:1])
  np.testing.assert_array_equal(other['log_likelihood'],
                                reference['log_likelihood'][1:])
  assert chief['log_likelihood'] != other['log_likelihood']

  # Only the chief wrote: one row, one sample grid, no worker's temporary
  # copies; the metrics are those of one process (not summed over workers).
  assert set(os.listdir(out)) == set(runs.RUN_FILES)
  assert not [root for root, _, _ in os.walk(out) if 'workertemp' in root]
  assert os.listdir(os.path.join(out, 'samples')) == ['epoch_001.png']
  (row,) = runs.history(out)
  (reference_row,) = runs.history(reference_out)
  for key in ('bits_per_dim', 'val_bits_per_dim'):
    np.testing.assert_allclose(float(row[key]), float(reference_row[key]),
                               rtol=1e-6, err_msg=key)
