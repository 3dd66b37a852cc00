"""Mixed precision: the dtype a flow's networks compute in.

Below the bijectors and the networks alike: a coupling's prior network and
every `tfp_glow.nets` network ask it for their Keras dtype policy.
"""

import contextlib

import tensorflow as tf
import tf_keras

__all__ = ['POLICIES', 'fast_policy', 'global_policy', 'network_dtype']

# What `train --mixed-precision` takes: a Keras policy, or 'auto' for
# `fast_policy()`.
POLICIES = ('float32', 'mixed_bfloat16', 'mixed_float16')
# CPU flags (Linux's names) of bfloat16 matrix units that beat float32. Not
# AVX512_BF16 alone: on a 2-core Xeon with it and without AMX, oneDNN's
# bfloat16 matmul ran at 0.6x float32 and a Glow trained at 0.71x
# (BENCHMARKS.md, benchmarks/precision.py).
BFLOAT16_CPU_FLAGS = frozenset({'amx_bf16'})


def network_dtype(dtype: tf.DType) -> str:
  """The Keras dtype (policy) of the networks of a flow in `dtype`.

  A float32 flow's networks follow a global `mixed_bfloat16`/`mixed_float16`
  policy: they compute in 16 bits with float32 weights, while the flow's
  log-scales, log-dets and LU arithmetic stay in float32.
  """
  policy = tf_keras.mixed_precision.global_policy().name
  if tf.as_dtype(dtype) == tf.float32 and policy.startswith('mixed_'):
    return policy
  return tf.as_dtype(dtype).name


def fast_policy(cpu_flags=None, gpu_capabilities=None) -> str:
  """The Keras policy `--mixed-precision auto` picks: 16-bit where the
  hardware multiplies bfloat16 natively, float32 elsewhere.

  'mixed_bfloat16' when every GPU has compute capability 8.0 or newer
  (bfloat16 tensor cores) or, with no GPU, the CPU has AMX; 'float32'
  otherwise, where bfloat16 is emulated or (AVX512_BF16 without AMX)
  measured slower than float32.
  Both arguments default to this machine's: the CPU's feature flags and
  each GPU's (major, minor) compute capability.
  """
  if gpu_capabilities is None:
    gpu_capabilities = [
        tf.config.experimental.get_device_details(gpu).get(
            'compute_capability', (0, 0))
        for gpu in tf.config.list_physical_devices('GPU')]
  if cpu_flags is None:
    cpu_flags = _cpu_flags()
  if gpu_capabilities:
    native = min(gpu_capabilities) >= (8, 0)
  else:
    native = bool(BFLOAT16_CPU_FLAGS & set(cpu_flags))
  return 'mixed_bfloat16' if native else 'float32'


def _cpu_flags() -> set[str]:
  """The CPU's feature flags from /proc/cpuinfo (none where it is absent)."""
  try:
    with open('/proc/cpuinfo') as cpuinfo:
      for line in cpuinfo:
        if line.startswith('flags'):
          return set(line.split(':', 1)[1].split())
  except OSError:
    pass
  return set()


@contextlib.contextmanager
def global_policy(name: str):
  """Keras's global dtype policy set to `name` inside the block (layers take
  it when built), the previous one restored after."""
  previous = tf_keras.mixed_precision.global_policy()
  tf_keras.mixed_precision.set_global_policy(name)
  try:
    yield
  finally:
    tf_keras.mixed_precision.set_global_policy(previous)
