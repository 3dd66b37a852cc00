"""Whole multi-scale flows: one bijector from a flat latent to an image."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.bijectors.chain import _Chain

from tfp_glow import nets
from tfp_glow.bijectors import (
  ActNorm,
  BatchNorm,
  ChannelPermutation,
  Coupling,
  Invertible1x1Conv,
  Squeeze,
)
from tfp_glow.bijectors.actnorm import warn_if_uninitialized
from tfp_glow.bijectors.class_prior import ClassPrior
from tfp_glow.bijectors.coupling import LOG_SCALES, TanhLogScale
from tfp_glow.bijectors.image_domain import ImageDomain
from tfp_glow.bijectors.preprocessing import logit_preprocessing
from tfp_glow.bijectors.split import factor_out, learned_prior, split_prior

tfb, tfd = tfp.bijectors, tfp.distributions

__all__ = ['Glow', 'RealNVP', 'SimpleFlow', 'flow_distribution']

_PERMUTATIONS = {
    'lu': lambda c, seed, dtype: Invertible1x1Conv(c, seed=seed, dtype=dtype),
    'plain': lambda c, seed, dtype: Invertible1x1Conv(
        c, lu_decomposed=False, seed=seed, dtype=dtype),
    'reverse': lambda c, seed, dtype: ChannelPermutation.reverse(c),
    'shuffle': lambda c, seed, dtype: ChannelPermutation.shuffle(c, seed=seed),
}


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


class MultiScaleFlow(_Chain):
  """A chain from a flat N(0, I) latent to images, factoring out per level.

  `level_fn(index, shape, is_last)` describes a level: it returns the
  level's bijectors in data -> latent order and the shape they end with; this
  class factors out half the channels after every level but the last
  (`split_prior` or N(0, I)), appends the top prior, and flattens.
  `level_sizes` gives the length of each level's slice of the latent, first
  factored-out level first, top last.

  With `num_classes`, the top prior is a `ClassPrior` (it replaces
  `top_prior_fn`'s) and the flow is class-conditional: every method takes
  integer `labels` as a keyword, which this chain routes by name to the
  prior nested inside the factor-outs (TFP chains pass kwargs by bijector
  name), so `dist.log_prob(x, bijector_kwargs={'labels': y})` and
  `dist.sample(n, bijector_kwargs={'labels': y})` work on
  `flow_distribution(flow)`. Every method also takes a Python bool
  `training` (default `False`), routed alike to each `BatchNorm` the flow
  holds (none: it changes nothing).

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

  def __init__(self, image_shape, num_levels: int, level_fn, split_prior_fn,
               top_prior_fn, preprocessing=(), num_classes=None,
               validate_args=False, dtype=tf.float32, parameters=None,
               name=None):
    if num_levels < 1:
      raise ValueError(
          f'{type(self).__name__} needs num_levels >= 1, got {num_levels}.')
    self._image_shape = tuple(image_shape)
    self._image_dtype = tf.as_dtype(dtype)

    def levels(index, shape):
      steps, (height, width, channels) = level_fn(
          index, shape, index == num_levels - 1)
      if index == num_levels - 1:
        size = height * width * channels
        self._class_prior = ClassPrior(
            [height, width, channels], num_classes,
            validate_args=validate_args, dtype=dtype) if num_classes else None
        top = ([self._class_prior] if num_classes else
               top_prior_fn([height, width, channels]))
        flatten = tfb.Reshape([height, width, channels], [size])
        return [*steps, *top, flatten], [size]
      kept, sizes = levels(index + 1, (height, width, channels // 2))
      out = factor_out(tfb.Chain(kept), (height, width, channels),
                       split_prior_fn(channels))
      return [*steps, out], [height * width * channels // 2, *sizes]

    domain = ImageDomain(self._image_shape, validate_args=validate_args)
    bijectors, self._level_sizes = levels(0, self._image_shape)
    super().__init__([domain, *preprocessing, *bijectors],
                     validate_args=validate_args, parameters=parameters,
                     name=name)
    # Name paths down to the bijectors that take `labels` and `training`
    # (tuples: a tf.Module would wrap lists and dicts for tracking).
    self._routes = (
        ('labels', _routes_to(self, lambda b: b is self._class_prior)),
        ('training', _routes_to(self, lambda b: isinstance(b, BatchNorm))),
    )

  @property
  def image_shape(self) -> tuple:
    return self._image_shape

  @property
  def image_dtype(self) -> tf.DType:
    """Floating dtype of the images, latents and parameters."""
    return self._image_dtype

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


class Glow(MultiScaleFlow):
  """Glow [1]: a multi-scale flow from a flat N(0, I) latent to an image.

  In the data -> latent direction (`inverse`, as `log_prob` runs it), each of
  the `num_levels` levels is

  ```none
  Squeeze -> K x [ActNorm -> Invertible1x1Conv -> Coupling] -> factor out half
  ```

  The couplings are affine with log s = tanh(h) (`coupling_log_scale`; the
  paper's sigmoid(h + 2) is an option). The factored-out half is normalised
  by a learned conditional prior (mean and log-scale from a zero-initialised
  conv of the kept half); the last level keeps all channels and its prior is
  learned (`learn_top`). All of it
  is one chain of bijectors, so the base distribution is N(0, I) over the flat
  latent and `log_prob`/`sample` come from `tfd.TransformedDistribution`.

  #### Examples

  ```python
  flow = tfp_glow.Glow((28, 28, 1), num_levels=2, num_steps_per_level=16)
  dist = tfp_glow.flow_distribution(flow)
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. In _NeurIPS_, 2018.
       https://arxiv.org/abs/1807.03039
  """

  def __init__(self,
               image_shape,
               num_levels: int = 3,
               num_steps_per_level: int = 32,
               hidden_channels: int = 512,
               additive: bool = False,
               coupling_log_scale: str = 'tanh',
               permutation: str = 'lu',
               use_split_prior: bool = True,
               learn_top: bool = True,
               num_classes: int | None = None,
               seed: int | None = None,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'glow'):
    """Builds a Glow.

    Args:
      image_shape: (H, W, C) of the images; H and W divisible by
        2**num_levels.
      num_levels: Python `int` >= 1, the number of squeeze levels (L).
        Default value: 3.
      num_steps_per_level: Python `int`, flow steps per level (K).
        Default value: 32.
      hidden_channels: Python `int`, width of the coupling networks.
        Default value: 512.
      additive: Python `bool`, additive instead of affine couplings.
        Default value: `False`.
      coupling_log_scale: the affine couplings' log s as a function of the
        network's h: `'tanh'`, log s = tanh(h) (`tanh_log_scale`: s in
        (1/e, e)), or `'sigmoid'`, openai/glow's log(sigmoid(h + 2) /
        sigmoid(2)) (`glow_log_scale`: s in (0, 1.135)). On real MNIST
        digits `'tanh'` learned 0.7 bits/dim more in 151 steps and its
        round trip lost 20-40x less precision (BENCHMARKS.md, "Cause 3").
        Default value: `'tanh'`.
      permutation: `'lu'` (LU 1x1 conv), `'plain'` (1x1 conv with slogdet),
        `'reverse'` or `'shuffle'`.
        Default value: `'lu'`.
      use_split_prior: Python `bool`, learned conditional prior for the
        factored-out halves; `False` keeps them N(0, I).
        Default value: `True`.
      learn_top: Python `bool`, learned mean and scale of the top prior.
        Default value: `True`.
      num_classes: Python `int`: a class-conditional Glow whose top prior's
        mean and scale are learned per label (`ClassPrior`, openai/glow's
        `ycond`; it replaces `learn_top`'s prior). Every call then takes
        integer `labels` as a bijector kwarg.
        Default value: `None` (unconditional).
      seed: Python `int` for the 1x1 convolutions and shuffles.
        Default value: `None`.
      validate_args: Python `bool`, passed to every bijector; also checks
        that images lie in [0, 1].
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and images.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'glow'.

    Raises:
      ValueError: for an image shape the levels can not squeeze, fewer than
        one level, an unknown coupling log-scale or permutation.
    """
    parameters = dict(locals())
    if coupling_log_scale not in LOG_SCALES:
      raise ValueError(
          f'coupling_log_scale must be one of {sorted(LOG_SCALES)}, got '
          f'{coupling_log_scale!r}.')
    if permutation not in _PERMUTATIONS:
      raise ValueError(f'permutation must be one of {sorted(_PERMUTATIONS)}, '
                       f'got {permutation!r}.')
    check_image_shape(image_shape, num_levels, f'Glow with {num_levels} levels')
    rng = np.random.default_rng(seed)

    def level(index, shape, is_last):
      """Squeeze, then K x [ActNorm, permutation, coupling]."""
      del index, is_last  # Every Glow level is alike.
      step, shape = squeeze(shape, validate_args)
      channels = shape[-1]
      steps = [step]
      for _ in range(num_steps_per_level):
        steps += [
            ActNorm(channels, validate_args=validate_args, dtype=dtype),
            _PERMUTATIONS[permutation](
                channels, int(rng.integers(2**31)), dtype),
            Coupling(channels, additive=additive,
                     log_scale_fn=LOG_SCALES[coupling_log_scale],
                     hidden_channels=hidden_channels,
                     validate_args=validate_args, dtype=dtype),
        ]
      return steps, shape

    super().__init__(
        image_shape, num_levels, level,
        split_prior_fn=(lambda c: split_prior(c, dtype)) if use_split_prior
        else lambda c: None,
        top_prior_fn=lambda shape: [learned_prior(shape, dtype)] if learn_top
        else [],
        num_classes=num_classes, validate_args=validate_args, dtype=dtype,
        parameters=parameters, name=name)


def bounded_couplings(shape, mask: str, count: int, make_network,
                      dtype: tf.DType) -> list[Coupling]:
  """`count` affine couplings of alternating parity with tanh log-scales.

  `make_network(num_outputs)` builds each coupling's network.
  """
  channels = shape[-1]
  active = channels if mask == 'checkerboard' else channels // 2
  return [
      Coupling(channels, mask=mask, parity=i % 2,
               network=make_network(2 * active),
               log_scale_fn=TanhLogScale(active, dtype), dtype=dtype)
      for i in range(count)
  ]


class RealNVP(MultiScaleFlow):
  """RealNVP [1] for images: checkerboard and channel-wise couplings.

  In the data -> latent direction:

  ```none
  y = logit(alpha + (1 - 2 alpha) x)
  per scale:  3 checkerboard couplings -> Squeeze -> 3 channel couplings
              -> factor out half (N(0, I) prior)
  last scale: 4 checkerboard couplings
  (batch_norm: each coupling followed by a BatchNorm)
  ```

  Couplings are affine with `TanhLogScale`-bounded log-scales and `ResNet`
  networks. With `batch_norm`, a `BatchNorm` follows each coupling, as in
  the paper (section 3.7): batch statistics with `training=True` (what
  `FlowModel.fit` passes), moving averages otherwise (evaluation, sampling,
  export).

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017. https://arxiv.org/abs/1605.08803
  """

  def __init__(self,
               image_shape,
               num_scales: int = 2,
               hidden_channels: int = 64,
               num_blocks: int = 4,
               alpha: float = 0.05,
               batch_norm: bool = False,
               num_classes: int | None = None,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'real_nvp'):
    """Builds a RealNVP.

    Args:
      image_shape: (H, W, C); H and W divisible by 2**(num_scales - 1).
      num_scales: Python `int` >= 1.
        Default value: 2.
      hidden_channels: Python `int`, width of the ResNets.
        Default value: 64.
      num_blocks: Python `int`, residual blocks per ResNet.
        Default value: 4.
      alpha: Python `float` of the logit preprocessing.
        Default value: 0.05.
      batch_norm: Python `bool`, a `BatchNorm` after every coupling; the
        flow then takes the bijector kwarg `training`.
        Default value: `False`.
      num_classes: Python `int`: class-conditional, with a `ClassPrior` on
        the top level instead of N(0, I) (see `Glow`).
        Default value: `None` (unconditional).
      validate_args: Python `bool`; also checks that images lie in [0, 1].
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and images.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'real_nvp'.

    Raises:
      ValueError: for fewer than one scale or an image shape the scales can
        not squeeze.
    """
    parameters = dict(locals())
    if num_scales < 1:
      raise ValueError(f'RealNVP needs num_scales >= 1, got {num_scales}.')
    check_image_shape(image_shape, num_scales - 1,
                      f'RealNVP with {num_scales} scales')

    def make_network(num_outputs):
      return nets.ResNet(num_outputs, hidden_channels, num_blocks,
                         dtype=nets.network_dtype(dtype))

    def couplings(index, shape, mask, count):
      """Bounded couplings, each followed by a uniquely named BatchNorm."""
      steps = []
      for i, coupling in enumerate(bounded_couplings(
          shape, mask, count, make_network, dtype)):
        steps.append(coupling)
        if batch_norm:
          steps.append(BatchNorm(
              shape[-1], validate_args=validate_args, dtype=dtype,
              name=f'batch_norm_{index}_{mask}_{i}'))
      return steps

    def level(index, shape, is_last):
      if is_last:
        return couplings(index, shape, 'checkerboard', 4), shape
      before = couplings(index, shape, 'checkerboard', 3)
      step, shape = squeeze(shape, validate_args)
      after = couplings(index, shape, 'channel', 3)
      return [*before, step, *after], shape

    super().__init__(
        image_shape, num_scales, level, split_prior_fn=lambda c: None,
        top_prior_fn=lambda shape: [], num_classes=num_classes,
        preprocessing=[logit_preprocessing(alpha, dtype)],
        validate_args=validate_args, dtype=dtype, parameters=parameters,
        name=name)


class SimpleFlow(MultiScaleFlow):
  """The image flows of the UvA normalizing-flows tutorial [1].

  Data -> latent, after the logit `logit(1e-5 + (1 - 2e-5) x)`:

  ```none
  simple:       8 checkerboard couplings
  multi-scale:  2 checkerboard couplings -> Squeeze -> 2 channel couplings
                -> factor out half -> Squeeze -> 4 channel couplings
  ```

  Couplings are affine with `TanhLogScale` log-scales and `GatedConvNet`
  networks (hidden width 32, then 48 and 64 at the squeezed scales; 3 gated
  convolutions each).

  #### References

  [1]: Phillip Lippe. UvA Deep Learning Tutorial 11: Normalizing Flows for
       image modeling. https://uvadlc-notebooks.readthedocs.io
  """

  def __init__(self,
               image_shape,
               multi_scale: bool = False,
               hidden_channels: int = 32,
               num_layers: int = 3,
               num_classes: int | None = None,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'simple_flow'):
    """Builds the tutorial's flow.

    Args:
      image_shape: (H, W, C); H and W divisible by 4 when `multi_scale`.
      multi_scale: Python `bool`, the tutorial's multi-scale variant.
        Default value: `False`.
      hidden_channels: Python `int`, width of the first GatedConvNets; the
        squeezed scales use 1.5x and 2x.
        Default value: 32.
      num_layers: Python `int`, gated convolutions per GatedConvNet.
        Default value: 3.
      num_classes: Python `int`: class-conditional, with a `ClassPrior` on
        the top level instead of N(0, I) (see `Glow`).
        Default value: `None` (unconditional).
      validate_args: Python `bool`; also checks that images lie in [0, 1].
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and images.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'simple_flow'.

    Raises:
      ValueError: for a multi-scale flow on images whose H or W is not
        divisible by 4.
    """
    parameters = dict(locals())
    num_levels = 2 if multi_scale else 1
    check_image_shape(image_shape, 2 * (num_levels - 1), 'SimpleFlow')

    def gated(width):
      return lambda num_outputs: nets.GatedConvNet(
          num_outputs, width, num_layers, dtype=nets.network_dtype(dtype))

    def level(index, shape, is_last):
      if not multi_scale:
        return bounded_couplings(
            shape, 'checkerboard', 8, gated(hidden_channels), dtype), shape
      if index == 0:
        before = bounded_couplings(
            shape, 'checkerboard', 2, gated(hidden_channels), dtype)
        step, shape = squeeze(shape, validate_args)
        after = bounded_couplings(
            shape, 'channel', 2, gated(hidden_channels * 3 // 2), dtype)
        return [*before, step, *after], shape
      step, shape = squeeze(shape, validate_args)
      after = bounded_couplings(
          shape, 'channel', 4, gated(hidden_channels * 2), dtype)
      return [step, *after], shape

    super().__init__(
        image_shape, num_levels, level, split_prior_fn=lambda c: None,
        top_prior_fn=lambda shape: [], num_classes=num_classes,
        preprocessing=[logit_preprocessing(1e-5, dtype)],
        validate_args=validate_args, dtype=dtype, parameters=parameters,
        name=name)


def flow_distribution(flow: MultiScaleFlow,
                      temperature=1.0) -> tfd.Distribution:
  """The image distribution of `flow`: its latent base pushed forward.

  ```none
  eps ~ N(0, T_l^2 I) on level l's slice of the flat latent,  x = flow(eps)
  ```

  Args:
    flow: a `Glow`, `RealNVP` or `SimpleFlow` (any `MultiScaleFlow`).
    temperature: the base standard deviation T: a float for every level, or
      one per level (first factored-out level first, top last). T = 1 is the
      model's density; T < 1 gives smoother samples.
      Default value: 1.

  Returns:
    A `tfd.TransformedDistribution` over images, in `flow.image_dtype`.
  """
  sizes = flow.level_sizes
  temperatures = np.asarray(temperature, np.float64)
  if temperatures.ndim == 0:
    temperatures = np.full([len(sizes)], temperatures)
  if temperatures.shape != (len(sizes),) or np.any(temperatures <= 0):
    raise ValueError(
        f'temperature must be a positive float or {len(sizes)} positive '
        f'floats (one per level), got {temperature!r}.')
  scale = tf.constant(np.repeat(temperatures, sizes), flow.image_dtype)
  base = tfd.Independent(tfd.Normal(tf.zeros_like(scale), scale), 1)
  return tfd.TransformedDistribution(base, flow)
