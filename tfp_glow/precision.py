"""Mixed precision: the dtype a flow's networks compute in.

Below the bijectors and the networks alike: a coupling's prior network and
every `tfp_glow.nets` network ask it for their Keras dtype policy.
"""

import tensorflow as tf
import tf_keras

__all__ = ['network_dtype']


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
