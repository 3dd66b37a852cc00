"""The one registry of model configurations.

Every property that holds for every model (round trips and log-dets, TFP and
Keras idioms, training stability, export) is tested by looping over `MODELS`:
a new model or variant joins here and inherits every check.

`build(name, image_shape, width, dtype, **options)` makes a small flow;
`width` is the hidden width of its networks, narrow by default, and the
networks are shallow (one residual block or gated convolution), since what
the checks test depends on neither. A class-conditional model needs labels
in every call: `bijector_kwargs(name, batch_shape)` gives the kwargs each
model needs for a batch (none for unconditional ones), so that one loop
serves all.
"""

import numpy as np
import tensorflow as tf

import tfp_glow


def _glow(**variant):
  def build(image_shape, width, dtype, **options):
    return tfp_glow.Glow(
        image_shape, **{'num_levels': 2, 'num_steps_per_level': 1,
                        'hidden_channels': width, 'seed': 0, 'dtype': dtype,
                        **variant, **options})
  return build


def _real_nvp(**variant):
  def build(image_shape, width, dtype, **options):
    return tfp_glow.RealNVP(image_shape, **{
        'hidden_channels': width, 'num_blocks': 1, 'dtype': dtype,
        **variant, **options})
  return build


def _simple_flow(multi_scale):
  def build(image_shape, width, dtype, **options):
    return tfp_glow.SimpleFlow(image_shape, **{
        'multi_scale': multi_scale, 'hidden_channels': width, 'num_layers': 1,
        'dtype': dtype, **options})
  return build


NUM_CLASSES = 10

MODELS = {
    'glow': _glow(),
    'glow_plain': _glow(permutation='plain'),
    'glow_additive': _glow(additive=True),
    'glow_sigmoid': _glow(coupling_log_scale='sigmoid'),   # openai/glow's
    'glow_shuffle': _glow(permutation='shuffle'),
    'glow_reverse_fixed_priors': _glow(permutation='reverse',
                                       use_split_prior=False, learn_top=False),
    'glow_conditional': _glow(num_classes=NUM_CLASSES),
    'real_nvp': _real_nvp(),
    'real_nvp_batch_norm': _real_nvp(batch_norm=True),
    'simple_flow': _simple_flow(multi_scale=False),
    'multi_scale_flow': _simple_flow(multi_scale=True),
}

CONDITIONAL = {'glow_conditional'}  # Their every call needs labels.


def build(name: str, image_shape=(8, 8, 1), width: int = 8,
          dtype: tf.DType = tf.float32, **options):
  """The registry's flow `name` on `image_shape` images."""
  return MODELS[name](tuple(image_shape), width, dtype, **options)


def bijector_kwargs(name: str, batch_shape=(), labels=None) -> dict:
  """The bijector kwargs model `name` needs for a batch of `batch_shape`.

  A class-conditional model gets `labels` (the batch's own), or else labels
  0, 1, 2, ... (mod NUM_CLASSES) in `batch_shape`; the others need none.
  """
  if name not in CONDITIONAL:
    return {}
  if labels is None:
    size = int(np.prod(batch_shape))
    labels = tf.reshape(tf.range(size) % NUM_CLASSES, batch_shape)
  return {'labels': labels}
