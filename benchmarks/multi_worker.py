"""One process against two worker processes on this machine, same global batch.

    python benchmarks/multi_worker.py [--steps 10] [--batch-size 64]

Trains the Glow of the throughput benchmarks (2 levels x 8 steps, width 128,
28x28x1, mnist_5k) with `FlowModel.fit`: first in one process (default
strategy), then in two worker processes on localhost
(`MultiWorkerMirroredStrategy`, each worker half of every global batch), and
prints training images/s of each. The workers also time one all-reduce (sum)
of tensors shaped like all the trainable variables, i.e. one step's gradients,
and print its size in bytes: the per-step cost that N machines add.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from tfp_glow.local_cluster import worker_environments

ROLE = 'BENCHMARK_ROLE'


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--batch-size', type=int, default=64)
  parser.add_argument('--reduces', type=int, default=20)
  args = parser.parse_args()
  if os.environ.get(ROLE):
    measure(args)
    return
  single = run_processes(args, 1)
  workers = run_processes(args, 2)
  print(f'1 process:           {single[0]["images_per_s"]:.1f} img/s')
  print(f'2 worker processes:  {workers[0]["images_per_s"]:.1f} img/s '
        f'(global batch {args.batch_size} in both)')
  print(f'one all-reduce of the gradients: {workers[0]["gradient_bytes"]:,} '
        f'bytes in {workers[0]["reduce_ms"]:.1f} ms (median of {args.reduces})')


def run_processes(args, count: int) -> list[dict]:
  """`count` processes of this script (one: no TF_CONFIG); their results."""
  environments = (worker_environments(count) if count > 1
                  else [dict(os.environ)])
  processes = [subprocess.Popen(
      [sys.executable, __file__, *sys.argv[1:]],
      env={**environment, ROLE: '1'}, stdout=subprocess.PIPE, text=True)
               for environment in environments]
  return [json.loads(p.communicate()[0].strip().splitlines()[-1])
          for p in processes]


def measure(args) -> None:
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tf_keras  # pylint: disable=import-outside-toplevel

  multi_worker = 'TF_CONFIG' in os.environ
  strategy = (tf.distribute.MultiWorkerMirroredStrategy() if multi_worker
              else tf.distribute.get_strategy())
  import tfp_glow  # pylint: disable=import-outside-toplevel
  tf_keras.utils.set_random_seed(0)
  (train, _), _ = tfp_glow.data.mnist_5k()
  images = tf.data.Dataset.from_tensor_slices(train).repeat().batch(
      args.batch_size)
  with strategy.scope():
    model = tfp_glow.FlowModel(tfp_glow.registry.MODELS['glow'].build(
        (28, 28, 1), {'levels': 2, 'steps_per_level': 8,
                      'hidden_channels': 128}))
    model.compile(tfp_glow.optimizers.adam())
  model.fit(images, steps_per_epoch=2, epochs=1, verbose=0)   # traces
  start = time.perf_counter()
  model.fit(images, steps_per_epoch=args.steps, epochs=1, verbose=0)
  seconds = time.perf_counter() - start
  result = {'images_per_s': args.steps * args.batch_size / seconds}
  if multi_worker:
    gradients = [tf.ones_like(v) for v in model.trainable_variables]

    @tf.function
    def all_reduce():
      return strategy.run(lambda: tf.distribute.get_replica_context(
          ).all_reduce(tf.distribute.ReduceOp.SUM, gradients))

    all_reduce()
    times = []
    for _ in range(args.reduces):
      start = time.perf_counter()
      tf.nest.map_structure(lambda t: t.numpy(), strategy.experimental_local_results(
          all_reduce()))
      times.append(time.perf_counter() - start)
    result['gradient_bytes'] = int(sum(g.shape.num_elements() * 4
                                       for g in gradients))
    result['reduce_ms'] = float(np.median(times) * 1e3)
  print(json.dumps(result))


if __name__ == '__main__':
  main()
