"""The one registry of model configurations.

Every property that holds for every model (round trips and log-dets, TFP and
Keras idioms, training stability, export) is tested by looping over `MODELS`:
a new model or variant joins here and inherits every check.

`build(name, image_shape, width, dtype, **options)` makes a small flow;
`width` is the hidden width of its networks, narrow by default, since what the
checks test does not depend on it.
"""

import tensorflow as tf

import tfp_glow


def _glow(**variant):
  def build(image_shape, width, dtype, **options):
    return tfp_glow.Glow(
        image_shape, **{'num_levels': 2, 'num_steps_per_level': 1,
                        'hidden_channels': width, 'seed': 0, 'dtype': dtype,
                        **variant, **options})
  return build


def _real_nvp(image_shape, width, dtype, **options):
  return tfp_glow.RealNVP(image_shape, **{
      'hidden_channels': width, 'num_blocks': 1, 'dtype': dtype, **options})


def _simple_flow(multi_scale):
  def build(image_shape, width, dtype, **options):
    return tfp_glow.SimpleFlow(image_shape, **{
        'multi_scale': multi_scale, 'hidden_channels': width, 'dtype': dtype,
        **options})
  return build


MODELS = {
    'glow': _glow(),
    'glow_plain': _glow(permutation='plain'),
    'glow_additive': _glow(additive=True),
    'glow_shuffle': _glow(permutation='shuffle'),
    'glow_reverse_fixed_priors': _glow(permutation='reverse',
                                       use_split_prior=False, learn_top=False),
    'real_nvp': _real_nvp,
    'simple_flow': _simple_flow(multi_scale=False),
    'multi_scale_flow': _simple_flow(multi_scale=True),
}


def build(name: str, image_shape=(8, 8, 1), width: int = 8,
          dtype: tf.DType = tf.float32, **options):
  """The registry's flow `name` on `image_shape` images."""
  return MODELS[name](tuple(image_shape), width, dtype, **options)
