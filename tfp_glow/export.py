"""SavedModel export with serving signatures, for TF Serving or any TF runtime."""

import os
import re
import warnings

import tensorflow as tf

from tfp_glow.dequantization import (
    BOUND_SAMPLES,
    VariationalDequantizer,
    bin_centres,
    bits_per_dim,
    log_likelihood_bound,
)
from tfp_glow.flows import Flow, MultiScaleFlow, flow_distribution
from tfp_glow.samples import to_pixels
from tfp_glow.serving_config import write_serving_config
from tfp_glow.warmup import WARMUP_ROWS, example_inputs, write_warmup_requests

__all__ = ['SIGNATURES', 'export_saved_model', 'serving_signatures']

SIGNATURES = ('serving_default', 'sample', 'encode', 'decode')


class _Images:
  """What the signatures of an image flow take and return: uint8 pixels,
  modelled at their bin centres x = (k + 1/2) / num_bins, and with a
  variational dequantizer also by the importance-weighted bound on log P(k).
  """

  def __init__(self, flow: MultiScaleFlow, num_bins: int,
               dequantizer: VariationalDequantizer | None):
    self.flow, self.num_bins, self.dequantizer = flow, num_bins, dequantizer
    self.spec = tf.TensorSpec([None, *flow.image_shape], tf.uint8,
                              name='images')

  def to_flow(self, pixels):
    return bin_centres(pixels, self.num_bins, self.flow.data_dtype)

  def log_prob_outputs(self, log_p, pixels, conditioning: dict) -> dict:
    outputs = {'log_prob': log_p, 'bits_per_dim': self._bits(log_p)}
    if self.dequantizer:
      bound = self._bound(pixels, conditioning.get('labels'))
      outputs.update(log_likelihood_bound=bound,
                     bound_bits_per_dim=self._bits(bound))
    return outputs

  def _bits(self, log_p):
    return bits_per_dim(log_p, self.flow.image_shape, self.num_bins)

  def _bound(self, pixels, labels):
    """log_likelihood_bound of each image with BOUND_SAMPLES draws of q from
    one fixed seed: a row's bound does not depend on the other rows, so TF
    Serving may batch requests."""
    dist = flow_distribution(self.flow)

    def row_bound(pixels, labels=None):
      return log_likelihood_bound(
          dist, pixels[None], self.dequantizer, BOUND_SAMPLES, seed=[0, 0],
          num_bins=self.num_bins,
          labels=None if labels is None else labels[None])[0]

    rows = pixels if labels is None else (pixels, labels)
    return tf.map_fn(lambda row: row_bound(*tf.nest.flatten(row)), rows,
                     fn_output_signature=self.flow.data_dtype)

  def decoded(self, continuous, with_continuous: bool = False) -> dict:
    outputs = {'images': to_pixels(continuous, self.num_bins)}
    if with_continuous:
      outputs['continuous'] = continuous
    return outputs


class _Vectors:
  """What the signatures of a vector flow take and return: [D] vectors."""

  def __init__(self, flow: Flow):
    self.spec = tf.TensorSpec([None, *flow.data_shape], flow.data_dtype,
                              name='values')

  def to_flow(self, values):
    return values

  def log_prob_outputs(self, log_p, values, conditioning: dict) -> dict:
    del values, conditioning  # Vectors have no dequantization bound.
    return {'log_prob': log_p}

  def decoded(self, values, with_continuous: bool = False) -> dict:
    del with_continuous  # Vectors are continuous already.
    return {'values': values}


def serving_signatures(flow: Flow, num_bins: int = 256,
                       dequantizer: VariationalDequantizer | None = None
                       ) -> dict:
  """The four signatures as concrete functions over `flow`'s variables.

  An image flow's signatures take and return uint8 `images`; a vector
  flow's take and return float `values` [batch, D]. A class-conditional
  flow's signatures also take int32 `labels`, one per image (sample: one per
  sample); the others' stay as they are. With the `dequantizer` an image
  flow was trained with, `serving_default` also returns its bound.
  """
  if dequantizer is not None and not isinstance(flow, MultiScaleFlow):
    raise ValueError('a dequantizer applies to image flows only, got a '
                     f'{type(flow).__name__}.')
  data = (_Images(flow, num_bins, dequantizer)
          if isinstance(flow, MultiScaleFlow) else _Vectors(flow))
  data_spec = data.spec
  dtype = flow.data_dtype
  latent_size = sum(flow.level_sizes)
  # A conditional flow's signatures end in `labels`; the others have none.
  label_specs = ([tf.TensorSpec([None], tf.int32, name='labels')]
                 if flow.num_classes else [])

  def conditioning(labels: tuple, batch_size) -> dict:
    """The bijector kwargs of `labels` (empty or one tensor of batch_size)."""
    if not labels:
      return {}
    message = f'labels must hold one label in [0, {flow.num_classes}) per image'
    with tf.control_dependencies([
        tf.debugging.assert_equal(tf.size(labels[0]), batch_size,
                                  message=message),
        tf.debugging.assert_non_negative(labels[0], message=message),
        tf.debugging.assert_less(labels[0], flow.num_classes,
                                 message=message)]):
      return {'labels': tf.identity(labels[0])}

  def nonempty(rows, name: str):
    """`rows` (a batch), checked to hold at least one row."""
    with tf.control_dependencies([tf.debugging.assert_positive(
        tf.shape(rows)[0], message=f'{name} must hold at least one row')]):
      return tf.identity(rows)

  def continuous(inputs):
    # Loaded signatures do not check shapes themselves.
    inputs = nonempty(tf.ensure_shape(inputs, data_spec.shape),
                      data_spec.name)
    return data.to_flow(inputs)

  @tf.function(input_signature=[data_spec, *label_specs])
  def log_prob(inputs, *labels):
    kwargs = conditioning(labels, tf.shape(inputs)[0])
    log_p = flow_distribution(flow).log_prob(continuous(inputs),
                                             bijector_kwargs=kwargs)
    return data.log_prob_outputs(log_p, inputs, kwargs)

  @tf.function(input_signature=[
      tf.TensorSpec([None], tf.float32, name='temperature'),
      tf.TensorSpec([None, 2], tf.int32, name='seed'), *label_specs])
  def sample(temperature, seed, *labels):
    """Row i: x_i = decode(T_i * eps_i), eps_i ~ N(0, I) drawn from seed_i.

    Every row depends on its own inputs alone, so TF Serving's batching may
    merge requests along the rows.
    """
    temperature = nonempty(tf.ensure_shape(temperature, [None]),
                           'temperature')
    num_samples = tf.shape(temperature)[0]
    with tf.control_dependencies([
        tf.debugging.assert_positive(temperature,
                                     message='temperature must be > 0'),
        tf.debugging.assert_equal(
            tf.shape(seed)[0], num_samples,
            message='seed must hold one pair of integers per temperature')]):
      seed = tf.ensure_shape(seed, [None, 2])
    noise = tf.map_fn(
        lambda row: tf.random.stateless_normal([latent_size], row, dtype=dtype),
        seed, fn_output_signature=dtype)
    return data.decoded(
        flow.decode(tf.cast(temperature, dtype)[:, None] * noise,
                    **conditioning(labels, num_samples)),
        with_continuous=True)

  @tf.function(input_signature=[data_spec, *label_specs])
  def encode(inputs, *labels):
    return {'latents': flow.encode(
        continuous(inputs), **conditioning(labels, tf.shape(inputs)[0]))}

  @tf.function(input_signature=[
      tf.TensorSpec([None, latent_size], dtype, name='latents'), *label_specs])
  def decode(latents, *labels):
    latents = nonempty(tf.ensure_shape(latents, [None, latent_size]),
                       'latents')
    return data.decoded(
        flow.decode(latents, **conditioning(labels, tf.shape(latents)[0])))

  functions = {'serving_default': log_prob, 'sample': sample,
               'encode': encode, 'decode': decode}
  return {name: function.get_concrete_function()
          for name, function in functions.items()}


def export_saved_model(model_or_flow, export_dir: str,
                       version: int | None = None, num_bins: int = 256,
                       warmup_rows: int = WARMUP_ROWS) -> str:
  """Writes `export_dir/<version>/`, the SavedModel layout TF Serving watches.

  Signatures (dynamic batch; images are uint8 [batch, H, W, C]):

  ```none
  serving_default  images -> log_prob, bits_per_dim   (x = (k + 1/2) / 256)
                   and, for a FlowModel trained with a variational
                   dequantizer, log_likelihood_bound, bound_bits_per_dim
                   (the importance-weighted bound, BOUND_SAMPLES draws)
  sample           temperature, seed -> images, continuous
                   (a row each: temperature [batch], seed [batch, 2])
  encode           images -> latents                   (every level, flat)
  decode           latents -> images
  ```

  A vector flow's take and return float `values` [batch, D] where an image
  flow's take or return images (`serving_default` returns `log_prob` only).

  log_prob is the density of the bin centres, in nats on [0, 1]^D: the
  deterministic counterpart of the training loss's dequantization noise.
  The graphs hold core TensorFlow ops only. With `tensorflow-serving-api`
  installed (`pip install "tfp_glow[serving]"`), the version also holds
  `assets.extra/tf_serving_warmup_requests`, one request of `warmup_rows`
  rows per signature that TF Serving replays when it loads the version;
  without it, a warning says so and the export goes on without the file.
  `export_dir` also gets TF Serving's `models.config` and
  `batching_parameters.txt` (`tfp_glow.serving_config`) unless it has them.

  Args:
    model_or_flow: a `FlowModel` or a `Flow` (Glow, RealNVP, VectorRealNVP,
      ...).
    export_dir: the model's base directory.
    version: Python `int` >= 1; by default one more than the largest
      existing version. An existing version is never overwritten.
    num_bins: Python `int`, the number of pixel values.
      Default value: 256.
    warmup_rows: Python `int`, the rows of each warmup request; 0 writes
      none. Default value: `WARMUP_ROWS` (4).

  Returns:
    The path of the written version.

  Raises:
    FileExistsError: if `version` already exists.
    TypeError: for something that is not a flow.
    ValueError: for a version < 1 or warmup_rows < 0.
  """
  flow = getattr(model_or_flow, 'flow', model_or_flow)
  dequantizer = getattr(model_or_flow, 'dequantizer', None)
  if not isinstance(flow, Flow):
    raise TypeError('export_saved_model needs a FlowModel or a Glow, RealNVP, '
                    f'SimpleFlow or VectorRealNVP, got '
                    f'{type(model_or_flow).__name__}.')
  versions = [int(name) for name in (os.listdir(export_dir)
                                     if os.path.isdir(export_dir) else [])
              if re.fullmatch(r'\d+', name)]
  if version is None:
    version = max(versions, default=0) + 1
  if version < 1:
    raise ValueError(f'version must be an integer >= 1, got {version}.')
  if warmup_rows < 0:
    raise ValueError(f'warmup_rows must be >= 0, got {warmup_rows}.')
  path = os.path.join(export_dir, str(version))
  if os.path.exists(path):
    raise FileExistsError(f'{path} exists; exports are never overwritten.')
  # Only the variables and the traced signatures are saved: loading needs
  # neither tfp_glow nor TensorFlow Probability.
  signatures = serving_signatures(flow, num_bins, dequantizer)
  root = tf.Module(name='tfp_glow_export')
  # After tracing built them all.
  root.flow_variables = [*flow.variables,
                         *(dequantizer.variables if dequantizer else ())]
  tf.saved_model.save(root, path, signatures=signatures)
  if warmup_rows:
    model_name = os.path.basename(os.path.normpath(export_dir))
    try:
      write_warmup_requests(path, example_inputs(signatures, warmup_rows),
                            model_name)
    except ImportError as error:
      warnings.warn(f'{path} has no warmup requests. {error}', stacklevel=2)
  write_serving_config(export_dir)
  return path
