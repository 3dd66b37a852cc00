"""Keras training: a `tf_keras.Model` whose loss is the flow's NLL in bits/dim."""

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_glow.bijectors.actnorm import (
    ActNorm,
    data_dependent_init,
    initialized_in_graph,
)
from tfp_glow.classifier import class_log_likelihoods
from tfp_glow.dequantization import (
    VariationalDequantizer,
    bits_per_dim,
    check_num_bins,
    dequantize,
)
from tfp_glow.flows import MultiScaleFlow, flow_distribution
from tfp_glow.replicas import all_finite, all_reduce_sum, on_every_replica_if

__all__ = ['DEFAULT_CLASSIFICATION_WEIGHT', 'FlowModel']
# Of the classification loss of class-conditional flows, measured on real
# MNIST digits (BENCHMARKS.md, "Class-conditional Glow").
DEFAULT_CLASSIFICATION_WEIGHT = 1.


class FlowModel(tf_keras.Model):
  """Trains a flow with Keras `fit` on the negative log-likelihood.

  ```none
  loss = mean_n [ -log p(x_n) + log q(u_n | k_n) ],   x_n = (k_n + u_n) / 256
  bits_per_dim = loss / (D ln 2) + log2(256)
  ```

  Integer inputs (8-bit pixels k, e.g. `uint8`) are dequantized: with
  uniform noise u (log q = 0), or with `dequantizer`, whose q(u | k) trains
  with the flow. The noise comes from the model's own `tf.random.Generator`
  (seeded from NumPy's global generator, so `set_random_seed` fixes it);
  under a distribution strategy each replica draws its own. Floating inputs are taken as continuous images in [0, 1].
  The data may be images or `(images, labels)`: a class-conditional flow
  (built with `num_classes`) trains on log p(x | y) and needs the integer
  labels; any other flow ignores them. A class-conditional flow can also
  train its Bayes classifier p(y | x) = softmax_y log p(x | y) (uniform
  p(y), `tfp_glow.classify`) with openai/glow's weight_y convention:

  ```none
  loss = bits_per_dim(x | y) + classification_weight * (-log2 p(y | x))
  ```

  openai/glow puts a linear classifier on the pooled top latent; here the
  classifier is the flow's own (its logits are log p_top(z | y) of the top
  latent z), so the weight trains the classifier that `classify` uses.

  Keras runs each step under `tf.function` (`compile(jit_compile=True)` for
  XLA) and under any `tf.distribute` strategy whose scope holds the model.
  The step also

  - initialises every ActNorm from the first batch (`data_dependent_init`)
    while any of them is uninitialised, i.e. once: the flags are
    checkpointed, so a restored model never re-initialises;
  - skips the update when the loss or any gradient is not finite, on every
    replica alike, and counts skipped steps in the `nonfinite_steps` metric;
  - runs the flow with `training=True`: the `BatchNorm`s of a `RealNVP`
    (its default, `batch_norm=True`) normalise with the batch's statistics (each
    replica its own) and update their moving averages (with the replicas'
    mean), which every other call uses (`evaluate`, `log_likelihood`,
    `call`, sampling, export).

  Clip gradients with the optimizer's `global_clipnorm`; warm the learning
  rate up with `tfp_glow.optimizers.LinearWarmup` (the recipe:
  `tfp_glow.optimizers.adam`).

  #### Examples

  ```python
  model = tfp_glow.FlowModel(tfp_glow.Glow((28, 28, 1), num_levels=2))
  model.compile(tfp_glow.optimizers.adam(warmup_steps=500))
  model.fit(uint8_images_dataset, epochs=10, validation_data=test_dataset)
  ```
  """

  def __init__(self, flow: MultiScaleFlow,
               dequantizer: VariationalDequantizer | None = None,
               num_bins: int = 256,
               classification_weight: float = DEFAULT_CLASSIFICATION_WEIGHT,
               **kwargs):
    """Wraps `flow` (and `dequantizer`) for Keras.

    Args:
      flow: a `Glow`, `RealNVP` or `SimpleFlow` (any `MultiScaleFlow`).
      dequantizer: a `VariationalDequantizer`, or `None` for uniform noise.
        Default value: `None`.
      num_bins: Python `int`, the number of pixel values; a `dequantizer`
        must have the same.
        Default value: 256.
      classification_weight: Python `float` >= 0, the weight of the
        classification loss (bits of -log p(y | x) per bit/dim) of a
        class-conditional flow; ignored for other flows.
        Default value: `DEFAULT_CLASSIFICATION_WEIGHT`, measured on real
        MNIST digits (BENCHMARKS.md, "Class-conditional Glow").
      **kwargs: passed to `tf_keras.Model` (e.g. `name`).

    Raises:
      TypeError: for a flow over vectors (train it with a `tf.GradientTape`
        loop over `flow_distribution(flow)`, or a `tf_keras` model that
        holds it).
      ValueError: for a dequantizer built for another number of pixel
        values, or a negative classification weight.
    """
    if not isinstance(flow, MultiScaleFlow):
      raise TypeError(
          f'FlowModel trains image flows on pixels, got {type(flow).__name__}.'
          ' Train a flow over vectors on -mean(log_prob) of '
          '`tfp_glow.flow_distribution(flow)` with a tf.GradientTape loop '
          '(notebooks/flows_2d.ipynb) or a tf_keras model holding it.')
    check_num_bins(dequantizer, num_bins)
    if classification_weight < 0:
      raise ValueError('classification_weight must be >= 0, got '
                       f'{classification_weight}.')
    super().__init__(**kwargs)
    self.flow = flow
    self.dequantizer = dequantizer
    self.distribution = flow_distribution(flow)
    self._num_bins = num_bins
    self.classification_weight = (classification_weight if flow.num_classes
                                  else 0.)
    # Created in the strategy's scope, it gives every replica its own stream.
    self._noise = tf.random.Generator.from_seed(np.random.randint(2**31))
    self._actnorms = [m for m in flow.submodules if isinstance(m, ActNorm)]
    self._loss_tracker = tf_keras.metrics.Mean(name='loss')
    self._bits_tracker = tf_keras.metrics.Mean(name='bits_per_dim')
    self._nonfinite_tracker = tf_keras.metrics.Sum(name='nonfinite_steps')
    # One trace of the pixel path creates every network's variables (the
    # flow's and the dequantizer's), so checkpoints and BackupAndRestore
    # restore at once, not deferred.
    labels_spec = tf.TensorSpec([None], tf.int32) if flow.num_classes else None
    with initialized_in_graph():
      tf.function(self.call).get_concrete_function(
          tf.TensorSpec([None, *flow.image_shape], tf.uint8), labels_spec)
    self.built = True

  def compile(self, optimizer='rmsprop', **kwargs):
    """`tf_keras.Model.compile`, which also creates the optimizer's slots.

    A Keras 3 optimizer is a TypeError.
    """
    if type(optimizer).__module__.split('.')[0] == 'keras':
      raise TypeError(
          f'FlowModel is a tf_keras (Keras 2) model and can not use the Keras 3 '
          f'optimizer {type(optimizer).__name__} (`tf.keras` and `keras` are '
          'Keras 3): pass a `tf_keras.optimizers` optimizer, or train with a '
          '`tf.GradientTape` over `dist.trainable_variables` and any optimizer.')
    super().compile(optimizer, **kwargs)
    if isinstance(self.optimizer, tf_keras.optimizers.Optimizer):
      # Its slots now, as the flow's variables exist: a first trace of the
      # training step that created them would be traced again by
      # `tf.function`, doubling the cost of the first step.
      with self.distribute_strategy.scope():
        self.optimizer.build(self.trainable_variables)

  @property
  def metrics(self) -> list:
    return [self._loss_tracker, self._bits_tracker, self._nonfinite_tracker]

  def log_likelihood(self, images: tf.Tensor,
                     labels: tf.Tensor | None = None) -> tf.Tensor:
    """Per-image log p(x) (nats on [0, 1]^D), a one-sample bound for pixels.

    log p(x | y) for a class-conditional flow, which needs the `labels`;
    other flows ignore them.
    """
    images, log_q = self._continuous(images)
    return self._log_prob(images, self._labels(labels)) - log_q

  def _continuous(self, images: tf.Tensor) -> tuple:
    """Images in [0, 1] and log q(u | k): integer pixels k dequantized."""
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_integer:
      return _unit_images(images, self.flow.data_dtype), 0.
    return dequantize(images, self.dequantizer,
                      self._noise.uniform_full_int([2], tf.int32),
                      self._num_bins)

  def _log_prob(self, images: tf.Tensor, labels,
                training: bool = False) -> tf.Tensor:
    """log p(x) (or log p(x | y)); batch statistics in BatchNorms when
    `training`, their moving averages otherwise."""
    kwargs = {'training': training}
    if labels is not None:
      kwargs['labels'] = labels
    return self.distribution.log_prob(images, bijector_kwargs=kwargs)

  def call(self, images: tf.Tensor,
           labels: tf.Tensor | None = None) -> tf.Tensor:
    """Per-image bits/dim of `images` (8-bit pixels or images in [0, 1])."""
    return bits_per_dim(self.log_likelihood(images, labels),
                        self.flow.image_shape, self._num_bins)

  def _labels(self, labels: tf.Tensor | None) -> tf.Tensor | None:
    """The labels a class-conditional flow needs; `None` for other flows."""
    if not self.flow.num_classes:
      return None
    if labels is None:
      raise ValueError(
          f'{self.flow.name} is class-conditional ({self.flow.num_classes} '
          'classes): FlowModel needs (images, labels) data, or labels for '
          'log_likelihood and call.')
    return labels

  def train_step(self, data):
    with initialized_in_graph():  # The first step initialises the ActNorms.
      return self._train_step(data)

  def _train_step(self, data):
    images, labels, _ = tf_keras.utils.unpack_x_y_sample_weight(data)
    on_every_replica_if(self._needs_init(), self._initialize, images,
                         *([] if labels is None else [labels]))
    # mixed_float16: Keras's compile wraps the optimizer in a loss scaler.
    scaler = (self.optimizer if isinstance(
        self.optimizer, tf_keras.mixed_precision.LossScaleOptimizer) else None)
    labels = self._labels(labels)
    with tf.GradientTape() as tape:
      continuous, log_q = self._continuous(images)
      nll = log_q - self._log_prob(continuous, labels, training=True)
      objective = nll
      if self.classification_weight:
        objective += (self.classification_weight * _size(self.flow) *
                      self._class_cross_entropy(continuous, labels))
      # Sum over the global batch / its size: replicas' gradients add up.
      loss = tf.nn.compute_average_loss(objective)
      scaled_loss = scaler.get_scaled_loss(loss) if scaler else loss
    variables = self.trainable_variables
    gradients = tape.gradient(scaled_loss, variables)
    if scaler:
      gradients = scaler.get_unscaled_gradients(gradients)
    gradients = all_reduce_sum(gradients)
    finite = all_finite([loss, *gradients])
    if scaler:  # It skips non-finite steps itself and lowers its scale.
      scaler.apply_gradients(zip(gradients, variables),
                             skip_gradients_aggregation=True)
    else:
      on_every_replica_if(
          finite, lambda *grads: self.optimizer.apply_gradients(
              zip(grads, variables), skip_gradients_aggregation=True),
          *gradients)
    context = tf.distribute.get_replica_context()
    self._nonfinite_tracker.update_state(
        (1. - tf.cast(finite, tf.float32)) / context.num_replicas_in_sync)
    self._track(tf.boolean_mask(nll, tf.math.is_finite(nll)))
    return self.get_metrics_result()

  def test_step(self, data):
    images, labels, _ = tf_keras.utils.unpack_x_y_sample_weight(data)
    self._track(-self.log_likelihood(images, labels))
    # Every metric, as Keras's own steps return: then Keras reports each
    # metric read across all replicas, not the replicas' results summed.
    return self.get_metrics_result()

  def _class_cross_entropy(self, images: tf.Tensor,
                           labels: tf.Tensor) -> tf.Tensor:
    """-log p(y | x) in nats, from the training flow pass `_log_prob` cached."""
    logits = class_log_likelihoods(self.flow, images, labels, training=True)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        tf.cast(labels, tf.int32), logits)

  def _track(self, nll: tf.Tensor) -> None:
    self._loss_tracker.update_state(nll)
    self._bits_tracker.update_state(
        bits_per_dim(-nll, self.flow.image_shape, self._num_bins))

  def _needs_init(self) -> tf.Tensor:
    return tf.logical_not(
        tf.reduce_all([a.initialized for a in self._actnorms] + [True]))

  def _initialize(self, images: tf.Tensor, labels=None) -> None:
    with data_dependent_init():
      # A fresh tensor: the bijector cache must not hand this branch's
      # results to the training step.
      self.log_likelihood(tf.identity(images), labels)


def _size(flow: MultiScaleFlow) -> int:
  """D = H * W * C of the flow's images."""
  return int(np.prod(flow.image_shape))


def _unit_images(images: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
  """Float `images` in `dtype`, asserted to lie in [0, 1] where finite.

  Non-finite values pass: the training step skips and counts their steps.
  """
  images = tf.cast(images, dtype)
  in_range = (images >= 0.) & (images <= 1.)
  with tf.control_dependencies([tf.debugging.Assert(
      tf.reduce_all(in_range | ~tf.math.is_finite(images)),
      [('FlowModel takes 8-bit pixels as an integer dtype (e.g. uint8) or '
        'float images in [0, 1]: pass uint8 pixels, or scale float pixels in '
        '[0, 255] by 1/256. Got values in'), tf.reduce_min(images),
       tf.reduce_max(images)])]):
    return tf.identity(images)
