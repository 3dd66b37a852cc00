"""Coupling: affine or additive coupling layer over NHWC images."""

from collections.abc import Callable, Sequence

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal import cache_util

from tfp_glow.bijectors.events import check_event, check_event_ndims
from tfp_glow.bijectors.masks import make_mask

__all__ = [
  'LOG_SCALES',
  'Coupling',
  'TanhLogScale',
  'glow_log_scale',
  'network_outputs',
  'tanh_log_scale',
]


def tanh_log_scale(h: tf.Tensor) -> tf.Tensor:
  """log s = tanh(h): s in (1/e, e), s = 1 and d(log s)/dh = 1 at h = 0.

  tfp_glow's Glow coupling. Bounded both ways, a coupling can expand or
  contract each element by at most e, so neither direction of the flow
  amplifies an error by more than e per coupling.
  """
  return tf.tanh(h)


def glow_log_scale(h: tf.Tensor) -> tf.Tensor:
  """log s = log(sigmoid(h + 2) / sigmoid(2)): openai/glow's coupling scale.

  s in (0, 1.135), s = 1 at h = 0 with d(log s)/dh = 1 - sigmoid(2) = 0.12.
  """
  two = tf.constant(2., h.dtype)
  return tf.math.log_sigmoid(h + two) - tf.math.log_sigmoid(two)


# Glow's choices of the coupling log-scale, by name.
LOG_SCALES = {'tanh': tanh_log_scale, 'sigmoid': glow_log_scale}


class TanhLogScale(tf.Module):
  """RealNVP / UvA bounded log-scale with a learned bound per channel.

  ```none
  log s = b * tanh(h / b),   b = exp(log_bound),  log_bound initialised to 0
  ```
  """

  def __init__(self, num_channels: int, dtype: tf.DType = tf.float32):
    super().__init__(name='tanh_log_scale')
    self.log_bound = tf.Variable(tf.zeros([num_channels], dtype),
                                 name='log_bound')

  def __call__(self, h: tf.Tensor) -> tf.Tensor:
    bound = tf.exp(self.log_bound)
    return bound * tf.tanh(h / bound)


def _affine(params: tf.Tensor, restrict, log_scale_fn) -> tfp.bijectors.Bijector:
  """Data -> latent (inverse): z = (x + shift) * exp(log_scale_fn(h)).

  [shift, h] = params. The scale multiplies in the direction `log_prob`
  runs, so a log-scale bounded above bounds the expansion there.
  """
  shift, h = tf.split(params, 2, axis=-1)
  return tfp.bijectors.Invert(tfp.bijectors.Chain([
      tfp.bijectors.Scale(log_scale=restrict(log_scale_fn(h))),
      tfp.bijectors.Shift(restrict(shift)),
  ]))


def _additive(params: tf.Tensor, restrict, log_scale_fn) -> tfp.bijectors.Bijector:
  """Data -> latent (inverse): z = x + shift, shift = params."""
  del log_scale_fn  # Volume-preserving: no scale.
  return tfp.bijectors.Invert(tfp.bijectors.Shift(restrict(params)))


def network_outputs(num_channels: int, mask: str | Sequence[int] = 'channel',
                    additive: bool = False) -> int:
  """Channels a coupling's network must return: k * C_b.

  C_b active channels (half of them for the channel mask, all of them for
  the checkerboard and a binary mask), k = 2 for affine (shift, pre-scale),
  1 for additive.
  """
  active = make_mask(mask, num_channels, 0).active_channels
  return active * (1 if additive else 2)


class Coupling(tfp.bijectors.Bijector):
  """Affine or additive coupling [1, 2].

  A mask splits the data-side x into a conditioning part x_a and an active
  part x_b. In the data -> latent direction (`inverse`, as `log_prob` runs
  it), as in openai/glow's encoder and `tfb.Glow`:

  ```none
  h = network(x_a)
  affine:    z_b = (x_b + t) * s,   [t, h_s] = h,  log s = log_scale_fn(h_s)
             (default log s = tanh(h_s))
  additive:  z_b = x_b + t,         t = h
  z_a = x_a
  log|det dz/dx| = sum(log s)  (affine),  0  (additive)
  ```

  `forward` (latent -> data) is x_b = z_b / s - t. The scale multiplies in
  the direction `log_prob` runs, so a bounded log-scale bounds how much a
  coupling can expand the data: the likelihood rewards expanding
  near-constant regions (MNIST's background), and a scale that divided there
  could grow without bound and diverge. The default `tanh_log_scale` bounds
  s to (1/e, e), so a coupling also can not contract without bound (the
  other direction's amplification of rounding errors), and its slope at
  h = 0 is 1; openai/glow's `glow_log_scale`, sigmoid(h + 2) / sigmoid(2),
  bounds s to (0, 1.135) with slope 0.12 (BENCHMARKS.md, "Cause 3"). Both
  are 0 at h = 0: with a network whose last layer is zero-initialised a
  new coupling is the identity.

  Masks: `'channel'` is Glow's channel split (= RealNVP's channel-wise mask)
  and `'checkerboard'` is RealNVP's spatial mask; `parity` 0 or 1 selects
  which half conditions. A binary sequence is a given mask over the last
  axis (1: conditions).

  Over vectors (`event_ndims=1`, events [D]) the same holds with the D
  entries as the channels: `'channel'` splits them in halves, a binary
  sequence masks them as RealNVP's vector couplings do, and the network
  maps [N, D_a] to [N, k * D_b] (a `tfp_glow.MLP`, say). With the
  alternating halves of two couplings, log|det dz/dx| = sum(log s) is the
  log-determinant of a triangular Jacobian (after reordering the entries).

  `forward`, `inverse` and the log-determinant share one network evaluation
  through the bijector cache, so `log_prob` runs the network once. All four
  take an optional `context` keyword ([..., H, W, C_ctx]), concatenated to
  the network's input: a conditional coupling, as in variational
  dequantization.

  #### Examples

  ```python
  # Glow's: channel mask, affine, GlowNet(2 * 2 outputs, width 512).
  coupling = tfp_glow.Coupling(4, tfp_glow.GlowNet(4, 512))
  outputs = tfp_glow.bijectors.network_outputs(4, mask='checkerboard')  # 8
  realnvp = tfp_glow.Coupling(4, tfp_glow.ResNet(outputs),
                              mask='checkerboard', parity=1)
  # Over [N, 2] vectors, with an MLP:
  vector = tfp_glow.Coupling(2, tfp_glow.MLP(2, 64), event_ndims=1)
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017. https://arxiv.org/abs/1605.08803
  [2]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. In _NeurIPS_, 2018.
       https://arxiv.org/abs/1807.03039
  """

  # Forward and inverse return their log-determinants as cache attributes.
  _cache = cache_util.BijectorCacheWithGreedyAttrs(
      forward_name='_augmented_forward', inverse_name='_augmented_inverse')

  def __init__(self,
               num_channels: int,
               network: Callable[[tf.Tensor], tf.Tensor],
               mask: str | Sequence[int] = 'channel',
               parity: int = 0,
               additive: bool = False,
               log_scale_fn: Callable[[tf.Tensor], tf.Tensor] = tanh_log_scale,
               event_ndims: int = 3,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'coupling'):
    """Builds a Coupling.

    Args:
      num_channels: Python `int`, the C of [H, W, C] images or the D of [D]
        vectors.
      network: a `tf_keras` layer or callable mapping the conditioning part
        [N, H, W, C_a] to [N, H, W, k * C_b] (k = 2 for affine: shift then
        pre-scale h; k = 1 for additive: shift), `network_outputs(...)`
        channels: a `tfp_glow.GlowNet`, `ResNet` or `GatedConvNet`, say;
        for vectors [N, D_a] to [N, k * D_b], a `tfp_glow.MLP`.
      mask: `'channel'`, `'checkerboard'` (images only) or a binary
        sequence of `num_channels` 0s and 1s (1: conditions).
        Default value: `'channel'`.
      parity: 0 or 1, which half of the mask conditions.
        Default value: 0.
      additive: Python `bool`, use an additive (volume-preserving) coupling.
        Default value: `False`.
      log_scale_fn: callable mapping the network's pre-scale h to the
        log-scale of an affine coupling: `TanhLogScale` for RealNVP and the
        UvA flows; `glow_log_scale` for openai/glow's; `tf.identity` leaves
        it unbounded (Glow's split prior).
        Default value: `tanh_log_scale`, log s = tanh(h).
      event_ndims: Python `int`, 3 for images, 1 for vectors.
        Default value: 3.
      validate_args: Python `bool`, passed to the base class.
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and inputs.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'coupling'.

    Raises:
      ValueError: for an unknown mask, a parity other than 0 or 1, an odd
        channel count with the channel mask, a checkerboard over vectors or
        a binary mask of another length.
    """
    parameters = dict(locals())
    self._event_ndims = check_event_ndims(event_ndims, name)
    self._mask = make_mask(mask, num_channels, parity, event_ndims)
    with tf.name_scope(name) as scope:
      self._num_channels = num_channels
      self._elementwise = _additive if additive else _affine
      self._log_scale_fn = log_scale_fn  # A tf.Module's variables are tracked.
      self._num_params = network_outputs(num_channels, mask, additive)
      self._network = network
      super().__init__(
          forward_min_event_ndims=event_ndims,
          validate_args=validate_args,
          dtype=dtype,
          parameters=parameters,
          name=scope)

  @property
  def num_channels(self) -> int:
    return self._num_channels

  @property
  def network(self) -> Callable[[tf.Tensor], tf.Tensor]:
    return self._network

  @property
  def log_scale_fn(self) -> Callable[[tf.Tensor], tf.Tensor]:
    return self._log_scale_fn

  def _transform(self, conditioning: tf.Tensor,
                 context: tf.Tensor | None = None) -> tfp.bijectors.Bijector:
    """The elementwise bijector of the active part.

    The network sees the conditioning part, and `context` concatenated to it
    along the channels when given (a conditional coupling).
    """
    if context is not None:
      conditioning = tf.concat([conditioning, context], axis=-1)
    shape = tf.shape(conditioning)
    events = tf.reshape(conditioning, tf.concat(
        [[-1], shape[-self._event_ndims:]], axis=0))
    # In float32 even when the network computes in 16 bits (mixed precision).
    params = tf.cast(self._network(events), self.dtype)
    if params.shape[-1] != self._num_params:
      raise ValueError(
          f'The coupling network must return {self._num_params} channels '
          f'for {self._mask.active_channels} active channels, got shape '
          f'{params.shape}.')
    params = tf.reshape(
        params, tf.concat([shape[:-1], [self._num_params]], axis=0))
    return self._elementwise(params, self._mask.restrict, self._log_scale_fn)

  def _augmented_forward(self, x, context=None):
    check_event(x, self._num_channels, self.name, self._event_ndims)
    conditioning, active = self._mask.split(x)
    transform = self._transform(conditioning, context)
    fldj = transform.forward_log_det_jacobian(
        active, event_ndims=self._event_ndims)
    y = self._mask.merge(conditioning, transform.forward(active))
    return y, {'fldj': fldj, 'ildj': -fldj}

  def _augmented_inverse(self, y, context=None):
    check_event(y, self._num_channels, self.name, self._event_ndims)
    conditioning, active = self._mask.split(y)
    transform = self._transform(conditioning, context)
    ildj = transform.inverse_log_det_jacobian(
        active, event_ndims=self._event_ndims)
    x = self._mask.merge(conditioning, transform.inverse(active))
    return x, {'ildj': ildj, 'fldj': -ildj}

  def _forward_log_det_jacobian(self, x, **kwargs):
    self._cache.forward(x, **kwargs)
    return self._cache.forward_attributes(x, **kwargs)['fldj']

  def _inverse_log_det_jacobian(self, y, **kwargs):
    self._cache.inverse(y, **kwargs)
    return self._cache.inverse_attributes(y, **kwargs)['ildj']
