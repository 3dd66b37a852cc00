"""Bayes classification with a class-conditional flow."""

import math

import tensorflow as tf

from tfp_glow.flows import MultiScaleFlow, flow_distribution

__all__ = ['class_log_likelihoods', 'classify']


def class_log_likelihoods(flow: MultiScaleFlow, images: tf.Tensor,
                          labels: tf.Tensor | None = None,
                          training: bool = False) -> tf.Tensor:
  """log p(x | y) of every image under every class, from one flow pass.

  Only the top prior (`flow.class_prior`) depends on the label, so with z
  the top latent before the prior,

  ```none
  log p(x | y) = log p(x | l) - log p_top(z | l) + log p_top(z | y)
  log p_top(z | y) = log N(prior^-1(z; y); 0, I) + ildj_prior(z; y)
  ```

  for any labels l: the flow runs once (with l), the prior once for all
  classes at a time.

  Args:
    flow: a class-conditional flow (built with `num_classes`).
    images: [N, H, W, C] images in [0, 1] (8-bit pixels as their
      `bin_centres`, say).
    labels: [N] labels l of the flow pass. Those of a `log_prob` already
      taken of the same `images` tensor reuse its cached pass.
      Default value: `None` (all 0).
    training: Python `bool`, the flow's `training` kwarg (batch statistics
      in its `BatchNorm`s, as in `FlowModel`'s training step).
      Default value: `False`.

  Returns:
    [N, num_classes] tensor of log p(x | y).

  Raises:
    ValueError: for a flow that is not class-conditional.
  """
  prior = flow.class_prior
  if prior is None:
    raise ValueError(f'{flow.name} is not class-conditional: build it with '
                     '`num_classes` to classify.')
  images = tf.convert_to_tensor(images, flow.data_dtype)
  if labels is None:
    labels = tf.zeros(tf.shape(images)[:-3], tf.int32)
  kwargs = {'labels': labels, 'training': training}
  log_p_given = flow_distribution(flow).log_prob(images, bijector_kwargs=kwargs)
  latents = flow.encode(images, **kwargs)  # The cached inverse.
  top_eps = tf.reshape(latents[..., -flow.level_sizes[-1]:],
                       [-1, *prior.event_shape])
  top = prior.forward(top_eps, labels=labels)

  def log_p_top(labels):
    eps = prior.inverse(top, labels=labels)
    log_normal = -0.5 * (tf.square(eps) + math.log(2. * math.pi))
    return (tf.reduce_sum(log_normal, axis=[-3, -2, -1]) +
            prior.inverse_log_det_jacobian(top, event_ndims=3, labels=labels))

  every_class = tf.range(prior.num_classes)[:, tf.newaxis]  # [K, 1]
  per_class = log_p_top(every_class) + (log_p_given - log_p_top(labels))
  return tf.transpose(per_class)


def classify(flow: MultiScaleFlow, images: tf.Tensor,
             log_class_prior: tf.Tensor | None = None) -> tf.Tensor:
  """Bayes classifier: argmax_y log p(x | y) + log p(y).

  Args:
    flow: a class-conditional flow.
    images: [N, H, W, C] images in [0, 1].
    log_class_prior: [num_classes] log p(y).
      Default value: `None` (uniform).

  Returns:
    [N] int32 tensor of labels.
  """
  scores = class_log_likelihoods(flow, images)
  if log_class_prior is not None:
    scores += tf.cast(log_class_prior, scores.dtype)
  return tf.argmax(scores, axis=-1, output_type=tf.int32)
