"""Worker processes on one machine, for `--strategy multi_worker` tries."""

import json
import os
import socket

__all__ = ['worker_environments']


def worker_environments(num_workers: int) -> list[dict]:
  """This process's environment with a TF_CONFIG per worker of a cluster on
  free localhost ports; worker 0 is the chief.

  #### Examples

  ```python
  for environment in worker_environments(2):
    subprocess.Popen([sys.executable, '-m', 'tfp_glow', 'train', ...,
                      '--strategy', 'multi_worker'], env=environment)
  ```
  """
  sockets = [socket.socket() for _ in range(num_workers)]
  for s in sockets:
    s.bind(('localhost', 0))
  cluster = {'worker': [f'localhost:{s.getsockname()[1]}' for s in sockets]}
  for s in sockets:
    s.close()
  return [{**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'TF_CONFIG': json.dumps(
      {'cluster': cluster, 'task': {'type': 'worker', 'index': index}})}
          for index in range(num_workers)]
