"""Where a step's time goes: op types by time and count, from a TF profile.

Builds one model of throughput.py's comparison (same arguments), times
`--repeats` steps, and prints per step what the process spent besides the
wall time: user and system CPU, context switches (a thread going to sleep
for want of work, or preempted) and page faults (memory that the allocator
took from the kernel anew). Then it runs the steps again under the
TensorFlow profiler and prints, per op type, the number of ops per step and
their summed duration per step. Durations are summed over threads, so ops
that ran side by side add up to more than the step's wall time.

  python benchmarks/profile_ops.py --model tfp_glow --step train
  python benchmarks/profile_ops.py --model tfp --step log_prob --top 10
"""

import collections
import pathlib
import resource
import tempfile
import time

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2
from throughput import KINDS, STEPS, Runner, config_parser, random_batch


def op_times(trace_dir: str) -> tuple[collections.Counter, collections.Counter]:
  """Summed duration (ms) and count of every op type in a profiler trace.

  Op events are named 'scope/name:OpType'; executor and function events
  (no ':', or '::' or ': ' in the name) are left out.
  """
  times, counts = collections.Counter(), collections.Counter()
  for path in pathlib.Path(trace_dir).rglob('*.xplane.pb'):
    space = xplane_pb2.XSpace.FromString(path.read_bytes())
    for plane in space.planes:
      for line in plane.lines:
        for event in line.events:
          name = plane.event_metadata[event.metadata_id].name
          if ':' not in name or '::' in name or ': ' in name:
            continue
          op_type = name.rsplit(':', 1)[1]
          times[op_type] += event.duration_ps / 1e9
          counts[op_type] += 1
  return times, counts


def per_step_usage(before, after, steps: int) -> str:
  """CPU time, context switches and page faults per step, from getrusage."""
  def per_step(field):
    return (getattr(after, field) - getattr(before, field)) / steps
  return (f'per step: user CPU {per_step("ru_utime") * 1000:.1f} ms, system '
          f'CPU {per_step("ru_stime") * 1000:.1f} ms, context switches '
          f'{per_step("ru_nvcsw"):.0f} voluntary + {per_step("ru_nivcsw"):.0f} '
          f'involuntary, page faults {per_step("ru_minflt"):.0f}')


def main():
  parser = config_parser(__doc__.splitlines()[0])
  parser.add_argument('--model', choices=KINDS, default='tfp_glow')
  parser.add_argument('--step', choices=STEPS, default='train')
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--top', type=int, default=25)
  args = parser.parse_args()
  run = Runner(args.model, args, random_batch(args)).step(args.step)
  for _ in range(3):   # traced and warm
    run().numpy()
  usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
  for _ in range(args.repeats):
    run().numpy()
  wall_ms = (time.perf_counter() - start) / args.repeats * 1000
  print(per_step_usage(usage, resource.getrusage(resource.RUSAGE_SELF),
                       args.repeats))
  with tempfile.TemporaryDirectory() as trace_dir:
    tf.profiler.experimental.start(trace_dir)
    for _ in range(args.repeats):
      run().numpy()
    tf.profiler.experimental.stop()
    times, counts = op_times(trace_dir)
  print(f'{args.model} {args.step}: {wall_ms:.1f} ms per step (unprofiled), '
        f'{sum(counts.values()) / args.repeats:.0f} ops per step')
  print('\n| op type | ms per step | ops per step |\n|---|---|---|')
  for op_type, total in times.most_common(args.top):
    print(f'| {op_type} | {total / args.repeats:.1f} | '
          f'{counts[op_type] / args.repeats:.0f} |')


if __name__ == '__main__':
  main()
