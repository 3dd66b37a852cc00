"""ActNorm: per-channel affine map with data-dependent initialisation."""

import contextlib
import contextvars
import warnings

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.events import (
    batch_axes,
    check_event,
    check_event_ndims,
    cross_replica_mean,
    num_positions,
)

__all__ = [
    'ActNorm',
    'UninitializedActNormWarning',
    'data_dependent_init',
    'initialized_in_graph',
    'initializing',
    'warn_if_uninitialized',
]

_EPSILON = 1e-6
# openai/glow's `logscale_factor`: log_scale = 3 v for the trained variable v.
LOG_SCALE_FACTOR = 3.
_INIT, _IN_GRAPH = 'init', 'in_graph'
# What the current thread / context does with uninitialised ActNorms: None
# (warn), _INIT (initialise from data) or _IN_GRAPH (the caller initialises).
_init_mode = contextvars.ContextVar('tfp_glow_actnorm_init', default=None)


class UninitializedActNormWarning(UserWarning):
  """An ActNorm that nothing initialised ran as the identity."""


@contextlib.contextmanager
def _mode(mode: str):
  token = _init_mode.set(mode)
  try:
    yield
  finally:
    _init_mode.reset(token)


def data_dependent_init():
  """Context in which every uninitialised ActNorm initialises from data.

  Inside the context, `ActNorm.inverse(y)` (the data -> latent direction, as
  run by `log_prob`) first calls `initialize(y)` on each ActNorm whose
  `initialized` flag is still `False`. Already initialised ActNorms (for
  example restored from a checkpoint) are left alone. Works eagerly, inside
  `tf.function` (trace the function inside the context) and inside
  `strategy.run` (statistics are averaged over replicas; enter the context
  inside the replica function: the state is a `contextvars.ContextVar`,
  private to each thread and context, and replica threads start without it).

  The context only affects new computations: a batch whose inverse the
  bijector cache already holds is not recomputed, so pass a fresh tensor.

  #### Examples

  ```python
  with tfp_glow.data_dependent_init():
    dist.log_prob(first_batch)
  ```
  """
  return _mode(_INIT)


def initialized_in_graph():
  """Context of a computation that initialises its ActNorms before use.

  `FlowModel`'s train step initialises the flow under a `tf.cond` on the
  `initialized` flags, so tracing it on a new flow is no missed step:
  `warn_if_uninitialized` stays silent inside this context.
  """
  return _mode(_IN_GRAPH)


def initializing() -> bool:
  """True inside `data_dependent_init()` (in this thread / context)."""
  return _init_mode.get() == _INIT


def warn_if_uninitialized(bijector: tfp.bijectors.Bijector) -> None:
  """Warns once if some ActNorms of `bijector` were never initialised.

  Called when data runs through `bijector.inverse` (the `log_prob`
  direction) outside `data_dependent_init()`: eagerly, or at trace time in
  a `tf.function` (the flags are read outside the graph). An uninitialised
  ActNorm is the identity, so the flow still computes a density, but not
  the model Glow describes. Each bijector (a whole flow, or one ActNorm) is
  checked until its first check that finds every flag set or warns.

  Warns:
    UninitializedActNormWarning: filter it with
      `warnings.simplefilter('ignore', UninitializedActNormWarning)`.
  """
  if _init_mode.get() is not None or getattr(
      bijector, '_actnorms_checked', False):
    return
  actnorms = [m for m in (bijector, *bijector.submodules)
              if isinstance(m, ActNorm)]
  with tf.init_scope():
    if not tf.executing_eagerly():  # A TF1 graph: no values to read yet.
      return
    missing = sum(not bool(a.initialized.numpy()) for a in actnorms)
  for module in (bijector, *actnorms):
    module._actnorms_checked = True  # pylint: disable=protected-access
  if missing:
    warnings.warn(
        f'{missing} of {len(actnorms)} ActNorms of {bijector.name!r} are not '
        'initialised and run as the identity. Initialise them from data '
        'first: run `log_prob` on a first batch inside '
        '`tfp_glow.data_dependent_init()`, call `ActNorm.initialize`, or '
        'train with `tfp_glow.FlowModel`, which does it.',
        UninitializedActNormWarning, stacklevel=2)


class ActNorm(tfp.bijectors.Bijector):
  """Activation normalisation: a learned per-channel scale and shift.

  ```none
  forward:  y[..., c] = x[..., c] * exp(log_scale[c]) + shift[c]
  inverse:  x[..., c] = (y[..., c] - shift[c]) * exp(-log_scale[c])
  log|det J| = H * W * sum_c log_scale[c]     (images [H, W, C])
             = sum_c log_scale[c]             (vectors [D], event_ndims=1)
  log_scale = 3 v    (v: the trained variable)
  ```

  The factor 3 is openai/glow's `logscale_factor`: Adam moves each trained
  variable by about its learning rate per step, so the log-scale moves up
  to 3x as far. On mostly-black images the flow's log-scales must travel
  several nats, and at 1x they are what limits how much it learns per step
  (BENCHMARKS.md, "Cause 2"). `log_scale` is a `tfp.util.TransformedVariable`:
  it reads and assigns as the log-scale itself.

  `initialize(y)` sets `shift` and `log_scale` from a data-side batch so that
  `inverse(y)` is zero-mean with unit variance per channel [1], and sets the
  non-trainable `initialized` flag, which checkpoints save. A new ActNorm is
  the identity; nothing initialises it implicitly: run `initialize` or a
  `log_prob` inside `data_dependent_init()`. Its `inverse` outside that
  context warns once (`UninitializedActNormWarning`) while it is still
  uninitialised. `forward` and `sample` never initialise, so latents can not
  leak into the parameters.

  #### Examples

  ```python
  actnorm = tfp_glow.ActNorm(3)
  actnorm.initialize(images)          # images: [N, H, W, 3]
  z = actnorm.inverse(images)         # per channel: mean 0, variance 1
  tfp_glow.ActNorm(2, event_ndims=1)  # over [N, 2] vectors
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. In _NeurIPS_, 2018.
       https://arxiv.org/abs/1807.03039
  """

  def __init__(self,
               num_channels: int,
               event_ndims: int = 3,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'act_norm'):
    """Builds an identity ActNorm.

    Args:
      num_channels: Python `int`, the C of [H, W, C] images or the D of [D]
        vectors.
      event_ndims: Python `int`, 3 for images, 1 for vectors.
        Default value: 3.
      validate_args: Python `bool`, passed to the base class.
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and inputs.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'act_norm'.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as scope:
      # ONLY_FIRST_REPLICA lets `initialize` assign inside `strategy.run`;
      # every replica computes the same cross-replica statistics.
      aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA
      self._num_channels = num_channels
      self._event_ndims = check_event_ndims(event_ndims, name)
      self._shift = tf.Variable(
          tf.zeros([num_channels], dtype), name='shift',
          aggregation=aggregation)
      self._log_scale = tfp.util.TransformedVariable(
          tf.zeros([num_channels], dtype),
          tfp.bijectors.Scale(tf.constant(LOG_SCALE_FACTOR, dtype)),
          name='log_scale', aggregation=aggregation)
      self._initialized = tf.Variable(
          False, trainable=False, name='initialized', aggregation=aggregation)
      super().__init__(
          forward_min_event_ndims=event_ndims,
          is_constant_jacobian=True,
          validate_args=validate_args,
          dtype=dtype,
          parameters=parameters,
          name=scope)

  @property
  def num_channels(self) -> int:
    return self._num_channels

  @property
  def shift(self) -> tf.Variable:
    return self._shift

  @property
  def log_scale(self) -> tfp.util.TransformedVariable:
    return self._log_scale

  @property
  def initialized(self) -> tf.Variable:
    """Boolean variable: `True` once data-dependent init has run."""
    return self._initialized

  def initialize(self, y: tf.Tensor, force: bool = False) -> None:
    """Sets shift and log-scale so that `inverse(y)` is standardised.

    ```none
    shift = mean(y),  log_scale = log(std(y) + 1e-6)   per channel
    ```

    Moments are taken over every axis but the channels and, inside
    `strategy.run`, averaged over replicas.

    Args:
      y: data-side batch of shape [..., H, W, C] (or [..., D]).
      force: Python `bool`; re-initialise even if `initialized` is `True`.
        Default value: `False`.
    """
    y = tf.convert_to_tensor(y, dtype=self.dtype)
    check_event(y, self._num_channels, self.name, self._event_ndims)
    mean = cross_replica_mean(tf.reduce_mean(y, axis=batch_axes(y)))
    variance = cross_replica_mean(
        tf.reduce_mean(tf.square(y - mean), axis=batch_axes(y)))
    log_scale = tf.math.log(tf.sqrt(variance) + _EPSILON)
    keep = tf.logical_and(self._initialized, not force)
    self._shift.assign(tf.where(keep, self._shift, mean))
    self._log_scale.assign(tf.where(keep, self._log_scale, log_scale))
    self._initialized.assign(True)

  def _forward(self, x):
    check_event(x, self._num_channels, self.name, self._event_ndims)
    return x * tf.exp(self._log_scale) + self._shift

  def _inverse(self, y):
    check_event(y, self._num_channels, self.name, self._event_ndims)
    if initializing():
      self.initialize(y)
    warn_if_uninitialized(self)
    return (y - self._shift) * tf.exp(-self._log_scale)

  def _forward_log_det_jacobian(self, x):
    check_event(x, self._num_channels, self.name, self._event_ndims)
    return num_positions(x, self._event_ndims) * tf.reduce_sum(self._log_scale)

