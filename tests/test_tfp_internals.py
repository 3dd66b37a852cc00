"""The private TensorFlow and TFP names tfp_glow relies on, each used in one
module, fail here loudly (with what to look at) if a release changes them.

- `flows/base.py`: TFP's `_Chain` (what `tfb.Chain` returns for bijectors
  that are not composite tensors) and its `_walk_forward`/`_walk_inverse`,
  which `MultiScaleFlow` overrides to route `labels` and `training`.
- `bijectors/coupling.py`: `cache_util.BijectorCacheWithGreedyAttrs`, which
  hands the log-det computed with the transform to the log-det methods, so
  a coupling's network runs once per `log_prob`.
- `convolutions.py`: TensorFlow's `_pywrap_util_port.IsMklEnabled`, whether
  TF runs oneDNN's kernels (the convolution routes follow it).

No public API does any of these without a second network evaluation or a
composite-tensor flow that would lose its variables.
"""

import inspect

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.bijectors.chain import _Chain
from tensorflow_probability.python.internal import cache_util

import tfp_glow
from tests import registry
from tfp_glow import convolutions

tfb = tfp.bijectors


def test_chain_of_modules_is_the_private_chain_with_its_walks():
  chain = tfb.Chain([tfp_glow.ActNorm(1)])    # holds a variable: a module
  assert type(chain) is _Chain, (
      'tfb.Chain no longer returns _Chain for non-composite bijectors: '
      'MultiScaleFlow (tfp_glow/flows/base.py) subclasses it.')
  for walk in ('_walk_forward', '_walk_inverse'):
    parameters = list(inspect.signature(getattr(_Chain, walk)).parameters)
    assert parameters[:3] == ['self', 'step_fn', parameters[2]], walk
    assert inspect.signature(getattr(_Chain, walk)).parameters[
        parameters[-1]].kind is inspect.Parameter.VAR_KEYWORD, walk


def test_the_flow_routes_kwargs_through_the_walks():
  """Labels reach the class prior through `_walk_inverse` and `_walk_forward`:
  different labels, different latents and images."""
  flow = registry.build('glow_conditional')
  for variable in flow.class_prior.trainable_variables:  # Labels matter.
    variable.assign(tf.random.stateless_normal(variable.shape, [2, 3]))
  images = tf.random.stateless_uniform([2, 8, 8, 1], [0, 1])
  with tfp_glow.data_dependent_init():
    latents = [flow.inverse(images, labels=tf.constant([label] * 2))
               for label in (0, 1)]
  assert not tf.reduce_all(latents[0] == latents[1])
  decoded = [flow.forward(latents[0], labels=tf.constant([label] * 2))
             for label in (0, 1)]
  assert not tf.reduce_all(decoded[0] == decoded[1])


def test_the_greedy_attribute_cache_serves_the_coupling_log_det():
  for name in ('forward', 'inverse', 'forward_attributes',
               'inverse_attributes'):
    assert hasattr(cache_util.BijectorCacheWithGreedyAttrs, name), (
        f'cache_util.BijectorCacheWithGreedyAttrs lost {name}: '
        'tfp_glow/bijectors/coupling.py reads the log-det from it.')
  calls = []

  def network(x):
    calls.append(x)
    return tf.concat([x, x], axis=-1)

  coupling = tfp_glow.Coupling(2, network)
  x = tf.random.stateless_normal([1, 2, 2, 2], [4, 5])
  y = coupling.inverse(x)
  coupling.inverse_log_det_jacobian(x, event_ndims=3)
  coupling.forward_log_det_jacobian(y, event_ndims=3)
  assert len(calls) == 1, 'the coupling network ran more than once'


def test_onednn_flag_is_readable():
  assert isinstance(convolutions.onednn_kernels(), bool), (
      "TF's _pywrap_util_port.IsMklEnabled changed: "
      'tfp_glow/convolutions.py chooses its routes by it.')
