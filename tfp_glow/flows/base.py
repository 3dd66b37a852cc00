"""The frame every flow is built on, and its distribution.

A flow (`Flow`) is one bijector from a flat N(0, I) latent to data. An image
flow (`MultiScaleFlow`) holds levels of bijectors, half of the channels
factored out after each level but the last (`factor_out`), a top prior, a
reshape to the flat latent; each image model (`glow.py`, `real_nvp.py`,
`simple_flow.py`) only says what its levels hold. A vector flow
(`vector.py`) is a chain over [D] vectors.

The one use of a TFP private name is here: `_Chain`, the class `tfb.Chain`
returns for bijectors that are not composite tensors, and its
`_walk_forward`/`_walk_inverse`, through which the frame routes bijector
kwargs (`tests/test_tfp_internals.py` fails loudly if TFP changes either).
"""

from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.bijectors.chain import _Chain

from tfp_glow.bijectors import BatchNorm, Coupling, Squeeze, TanhLogScale
from tfp_glow.bijectors.actnorm import warn_if_uninitialized
from tfp_glow.bijectors.class_prior import ClassPrior
from tfp_glow.bijectors.coupling import network_outputs
from tfp_glow.bijectors.image_domain import ImageDomain
from tfp_glow.bijectors.split import factor_out
from tfp_glow.precision import network_dtype

tfb, tfd = tfp.bijectors, tfp.distributions

__all__ = ['CouplingNetwork', 'Flow', 'MultiScaleFlow', 'affine_couplings',
           'check_image_shape', 'flow_distribution', 'network_factory',
           'squeeze']

# A model's coupling network, as a factory:
# `coupling_network(output_channels, hidden_channels, dtype=...)` returns a
# Keras layer (or any callable) from [N, H, W, C_a] to [N, H, W,
# output_channels] whose last layer is zero-initialised. `tfp_glow.GlowNet`,
# `ResNet` and `GatedConvNet` are such factories.
CouplingNetwork = Callable[..., Callable[[tf.Tensor], tf.Tensor]]


def network_factory(coupling_network: CouplingNetwork, hidden_channels: int,
                    dtype: tf.DType) -> Callable[[int], Callable]:
  """`make_network(num_outputs)`: `coupling_network` at one width, in the
  dtype (mixed-precision policy) of a flow in `dtype`."""
  def make_network(num_outputs: int):
    return coupling_network(num_outputs, hidden_channels,
                            dtype=network_dtype(dtype))
  return make_network


def check_image_shape(image_shape, num_squeezes: int, model: str) -> tuple:
  """Raises a ValueError unless H and W survive `num_squeezes` squeezes."""
  height, width, _ = image_shape
  factor = 2**num_squeezes
  if height % factor or width % factor:
    raise ValueError(
        f'{model} squeezes H and W by {factor}, which does not divide image '
        f'shape {tuple(image_shape)}.')
  return tuple(image_shape)


def squeeze(shape, validate_args: bool) -> tuple[tfb.Bijector, tuple]:
  """A factor-2 squeeze in the data -> latent (inverse) direction.

  Returns the bijector and the [H/2, W/2, 4C] shape it maps `shape` to.
  """
  step = tfb.Invert(Squeeze(validate_args=validate_args))
  return step, tuple(step.inverse_event_shape(shape).as_list())


class Flow(_Chain):
  """A flow: one bijector from a flat N(0, I) latent to data, as a module.

  The frame every model shares: `level_sizes` slices the flat latent (one
  temperature each in `flow_distribution`), `encode`/`decode` name the two
  directions, and every method takes a `labels` keyword (class-conditional
  flows, routed by name to the `ClassPrior`) and a Python bool `training`
  (default `False`, routed alike to each `BatchNorm` the flow holds; none:
  it changes nothing), so `dist.log_prob(x, bijector_kwargs={'labels': y})`
  and `dist.sample(n, bijector_kwargs={'labels': y})` work on
  `flow_distribution(flow)`.

  A flow is a `tf.Module` that owns its variables (and Keras layers), not a
  `CompositeTensor`: it subclasses TFP's `_Chain`, the class `tfb.Chain`
  itself returns for bijectors that are not composite tensors, because a
  composite tensor is rebuilt from its constructor arguments and would lose
  the variables. So any `tf.Module`, Keras layer or distribution that holds
  the flow (`flow_distribution`, `tfd.TransformedDistribution`, `tfb.Invert`
  all stay plain modules too) tracks its variables, and `tf.function` takes
  the flow (or its distribution) as an argument by reference: one trace per
  flow object.
  """

  def __init__(self, bijectors, data_shape, level_sizes, class_prior=None,
               validate_args=False, dtype=tf.float32, parameters=None,
               name=None):
    """`bijectors` as `tfb.Chain` takes them: the data side first, the flat
    latent's side last."""
    self._data_shape = tuple(data_shape)
    self._data_dtype = tf.as_dtype(dtype)
    self._level_sizes = tuple(level_sizes)
    self._class_prior = class_prior
    super().__init__(bijectors, validate_args=validate_args,
                     parameters=parameters, name=name)
    # Name paths down to the bijectors that take `labels` and `training`
    # (tuples: a tf.Module would wrap lists and dicts for tracking).
    self._routes = (
        ('labels', _routes_to(self, lambda b: b is self._class_prior)),
        ('training', _routes_to(self, lambda b: isinstance(b, BatchNorm))),
    )

  @property
  def data_shape(self) -> tuple:
    """The event shape of the data: [H, W, C] images or [D] vectors."""
    return self._data_shape

  @property
  def data_dtype(self) -> tf.DType:
    """Floating dtype of the data, the latents and the parameters."""
    return self._data_dtype

  @property
  def level_sizes(self) -> list[int]:
    """Length of each level's slice of the flat latent, top last."""
    return list(self._level_sizes)

  @property
  def num_classes(self) -> int | None:
    """The number of labels of a class-conditional flow, else `None`."""
    return self._class_prior.num_classes if self._class_prior else None

  @property
  def class_prior(self) -> ClassPrior | None:
    """The top prior of a class-conditional flow, else `None`."""
    return self._class_prior

  def _walk_forward(self, step_fn, x, **kwargs):
    return super()._walk_forward(step_fn, x, **self._routed(kwargs))

  def _walk_inverse(self, step_fn, y, **kwargs):
    return super()._walk_inverse(step_fn, y, **self._routed(kwargs))

  def _routed(self, kwargs: dict) -> dict:
    """`kwargs` with `labels` and `training` nested by name on the way to
    the class prior and to every `BatchNorm`."""
    if not kwargs.keys() & {'labels', 'training'}:
      return kwargs  # Also while the chain is built, before `_routes`.
    if 'labels' in kwargs and self._class_prior is None:
      raise ValueError(
          f'{self.name} is not class-conditional and takes no labels; build '
          'it with `num_classes` to condition on them.')
    kwargs = dict(kwargs)
    for key, routes in self._routes:
      if key not in kwargs:
        continue
      value = kwargs.pop(key)
      for route in routes:
        nested = kwargs
        for name in route:  # Copies: the caller's dicts stay as they are.
          nested[name] = dict(nested.get(name, {}))
          nested = nested[name]
        nested[key] = value
    return kwargs

  def copy(self, **override_parameters_kwargs):
    """Not supported: a copy built from the arguments would have new weights."""
    del override_parameters_kwargs  # No copy shares or copies the weights.
    name = type(self).__name__
    raise NotImplementedError(
        f'{name}.copy() would rebuild the flow from its constructor arguments '
        'with new, untrained weights. Share the flow object itself, or build '
        f'`{name}(**flow.parameters)` and restore the weights into it with '
        '`tf.train.Checkpoint`.')

  def _inverse(self, y, **kwargs):
    warn_if_uninitialized(self)
    return super()._inverse(y, **kwargs)

  def encode(self, images: tf.Tensor, **kwargs) -> tf.Tensor:
    """The flat latent of every level: `inverse(images, **kwargs)`.

    `kwargs`: `labels` for a class-conditional flow.
    """
    return self.inverse(images, **kwargs)

  def decode(self, latents: tf.Tensor, **kwargs) -> tf.Tensor:
    """Images from flat latents: `forward(latents, **kwargs)`."""
    return self.forward(latents, **kwargs)




class MultiScaleFlow(Flow):
  """A chain from a flat N(0, I) latent to images, factoring out per level.

  `level_fn(index, shape, is_last)` describes a level: it returns the
  level's bijectors in data -> latent order and the shape they end with; this
  class factors out half the channels after every level but the last
  (with the bijector `split_prior_fn(channels)` as their prior; N(0, I)
  without it or where it returns `None`), appends the top prior's bijectors
  `top_prior_fn(shape)` (none: N(0, I)), and flattens.
  `level_sizes` gives the length of each level's slice of the latent, first
  factored-out level first, top last.

  With `num_classes`, the top prior is a `ClassPrior` (it replaces
  `top_prior_fn`'s) and the flow is class-conditional.
  """

  def __init__(self, image_shape, num_levels: int, level_fn,
               split_prior_fn=None, top_prior_fn=None, preprocessing=(),
               num_classes=None,
               validate_args=False, dtype=tf.float32, parameters=None,
               name=None):
    if num_levels < 1:
      raise ValueError(
          f'{type(self).__name__} needs num_levels >= 1, got {num_levels}.')
    class_prior = []

    def levels(index, shape):
      steps, (height, width, channels) = level_fn(
          index, shape, index == num_levels - 1)
      if index == num_levels - 1:
        size = height * width * channels
        if num_classes:
          class_prior.append(ClassPrior(
              [height, width, channels], num_classes,
              validate_args=validate_args, dtype=dtype))
          top = class_prior
        elif top_prior_fn:
          top = top_prior_fn([height, width, channels])
        else:
          top = []
        flatten = tfb.Reshape([height, width, channels], [size])
        return [*steps, *top, flatten], [size]
      kept, sizes = levels(index + 1, (height, width, channels // 2))
      out = factor_out(tfb.Chain(kept), (height, width, channels),
                       split_prior_fn(channels) if split_prior_fn else None)
      return [*steps, out], [height * width * channels // 2, *sizes]

    domain = ImageDomain(tuple(image_shape), validate_args=validate_args)
    bijectors, level_sizes = levels(0, tuple(image_shape))
    super().__init__([domain, *preprocessing, *bijectors], image_shape,
                     level_sizes, class_prior[0] if class_prior else None,
                     validate_args=validate_args, dtype=dtype,
                     parameters=parameters, name=name)

  @property
  def image_shape(self) -> tuple:
    """(H, W, C), the flow's `data_shape`."""
    return self.data_shape


def _routes_to(chain: tfb.Bijector, matches) -> tuple[tuple[str, ...], ...]:
  """Names of the bijectors from `chain` down to each `b` with `matches(b)`.

  TFP's `Chain` and `JointMap` pass `kwargs[b.name]` to each part `b`, so
  the names on the way must be unique among their siblings.
  """
  parts = getattr(chain, 'bijectors', ())
  routes = []
  for part in parts:
    paths = [()] if matches(part) else _routes_to(part, matches)
    if paths and [b.name for b in parts].count(part.name) > 1:
      raise ValueError(f'{chain.name} holds several bijectors named '
                       f'{part.name!r}: bijector kwargs can not be routed.')
    routes += [(part.name, *path) for path in paths]
  return tuple(routes)



def affine_couplings(shape, mask: str, count: int, make_network,
                      dtype: tf.DType) -> list[Coupling]:
  """`count` affine couplings of alternating parity with tanh log-scales.

  `make_network(num_outputs)` builds each coupling's network.
  """
  channels = shape[-1]
  outputs = network_outputs(channels, mask)
  return [
      Coupling(channels, make_network(outputs), mask=mask, parity=i % 2,
               log_scale_fn=TanhLogScale(outputs // 2, dtype), dtype=dtype)
      for i in range(count)
  ]



def flow_distribution(flow: Flow, temperature=1.0) -> tfd.Distribution:
  """The data distribution of `flow`: its latent base pushed forward.

  ```none
  eps ~ N(0, T_l^2 I) on level l's slice of the flat latent,  x = flow(eps)
  ```

  Args:
    flow: a `Glow`, `RealNVP`, `SimpleFlow` or `VectorRealNVP` (any `Flow`).
    temperature: the base standard deviation T: a float for every level, or
      one per level (first factored-out level first, top last). T = 1 is the
      model's density; T < 1 gives smoother samples.
      Default value: 1.

  Returns:
    A `tfd.TransformedDistribution` over the data, in `flow.data_dtype`.
  """
  sizes = flow.level_sizes
  temperatures = np.asarray(temperature, np.float64)
  if temperatures.ndim == 0:
    temperatures = np.full([len(sizes)], temperatures)
  if temperatures.shape != (len(sizes),) or np.any(temperatures <= 0):
    raise ValueError(
        f'temperature must be a positive float or {len(sizes)} positive '
        f'floats (one per level), got {temperature!r}.')
  scale = tf.constant(np.repeat(temperatures, sizes), flow.data_dtype)
  base = tfd.Independent(tfd.Normal(tf.zeros_like(scale), scale), 1)
  return tfd.TransformedDistribution(base, flow)
