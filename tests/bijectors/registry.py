"""Every tfp_glow bijector in one registry, as zuko's tests list theirs.

`BIJECTORS` maps a name to an `Entry`: how to build a fresh float64
bijector and test it. `test_properties.py` loops over it: the property
checks of `tests.bijector_checks.check_bijector` for every entry, and the
bad-input checks (wrong rank, integer dtype, wrong channel count) for the
entries that reject that input. A new bijector joins here and inherits
every check; its own module's tests keep only its specific behaviour.
"""

import dataclasses
import itertools
from collections.abc import Callable

import tensorflow as tf
import tensorflow_probability as tfp

import tfp_glow
from tests.bijector_checks import tiny_images
from tfp_glow.bijectors import network_outputs
from tfp_glow.bijectors.image_domain import ImageDomain
from tfp_glow.bijectors.split import factor_out, learned_prior, split_prior

tfb = tfp.bijectors
F64 = tf.float64
BAD_INPUTS = ('rank', 'dtype', 'channels')


@dataclasses.dataclass(frozen=True)
class Entry:
  """One bijector of the registry.

  Attributes:
    make: builds a fresh float64 bijector.
    shape: the latent-side (`forward` input) test batch.
    kwargs: builds the bijector kwargs of every call for a batch of
      `shape[0]` (class labels, coupling context, BatchNorm's `training`).
    data: builds the data-side batch that initialises and trains it; `None`:
      `check_bijector`'s default.
    latent_from_data: test at the latent `inverse(data)` rather than at
      random latents: for BatchNorm's training mode, a bijection only at the
      batch whose statistics it uses.
    rejects: the bad inputs (`BAD_INPUTS`) it must reject.
    methods: its methods that take [..., H, W, C] images.
    channels: the channel count those methods take; `None` for any.
    channel_error: regex of its wrong-channel-count error, formatted with
      `channels` and the wrong count `got`.
    event_ndims: 3 for a bijector over [H, W, C] images, 1 over [D] vectors.
  """
  make: Callable[[], tfb.Bijector]
  shape: tuple = (3, 4, 4, 4)
  kwargs: Callable[[], dict] = dict
  data: Callable[[], tf.Tensor] | None = None
  latent_from_data: bool = False
  rejects: tuple = BAD_INPUTS
  methods: tuple = ('forward', 'inverse')
  channels: int | None = 4
  channel_error: str = 'was built for {channels} channels, got {got} '
  event_ndims: int = 3


def vector_entry(make: Callable[[], tfb.Bijector]) -> Entry:
  """An entry over [4] vectors."""
  return Entry(make, shape=(3, 4), event_ndims=1,
               channel_error='was built for {channels} entries, got {got} ')


def mlp(outputs, width, dtype):
  return tfp_glow.MLP(outputs, width, dtype=dtype)


def coupling(mask='channel', parity=0, additive=False, channels=4,
             network=tfp_glow.GlowNet, tanh_bound=False, **kwargs):
  """Factory of float64 couplings with a width-8 `network`.

  `tanh_bound`: a `TanhLogScale` log-scale with its learned bound.
  """
  def make():
    outputs = network_outputs(channels, mask, additive)
    bound = ({'log_scale_fn': tfp_glow.TanhLogScale(outputs // 2, F64)}
             if tanh_bound else {})
    return tfp_glow.Coupling(
        channels, network(outputs, 8, dtype='float64'), mask=mask,
        parity=parity, additive=additive, dtype=F64, **bound, **kwargs)
  return make


def coupling_forms():
  """affine/additive x channel/checkerboard x parity, tanh log-scale."""
  return {
      f'coupling-{"additive" if additive else "affine"}-{mask}-{parity}':
          Entry(coupling(mask, parity, additive))
      for mask, parity, additive in itertools.product(
          ['channel', 'checkerboard'], [0, 1], [False, True])}


def resnet(outputs, width, dtype):
  return tfp_glow.ResNet(outputs, width, num_blocks=1, dtype=dtype)


def batch_norm_with_averages():
  """In inference mode, with averages of one training batch (not 0 and 1)."""
  norm = tfp_glow.BatchNorm(4, dtype=F64)
  norm.inverse(tiny_images(seed=5, scale=3., offset=2.), training=True)
  return norm


def kept_flow():
  """A flat latent [32] to the kept half [4, 4, 2], with an ActNorm."""
  return tfb.Chain([tfp_glow.ActNorm(2, dtype=F64),
                    tfb.Reshape([4, 4, 2], [32])])


def pixels():
  """Images in (0, 1), as logit_preprocessing's inverse takes them."""
  return tf.random.stateless_uniform([3, 4, 4, 4], [3, 4], 0.01, 0.99, F64)


# factor_out's forward takes a flat latent; ImageDomain checks images on
# the way in (data -> latent) only.
DATA_SIDE = ('inverse',)

BIJECTORS = {
    'squeeze': Entry(tfp_glow.Squeeze, rejects=('rank', 'dtype'),
                     channels=None),
    'actnorm': Entry(lambda: tfp_glow.ActNorm(4, dtype=F64)),
    'conv-lu': Entry(lambda: tfp_glow.Invertible1x1Conv(4, seed=0, dtype=F64)),
    'conv-plain': Entry(lambda: tfp_glow.Invertible1x1Conv(
        4, lu_decomposed=False, seed=0, dtype=F64)),
    **coupling_forms(),
    'coupling-sigmoid': Entry(coupling(log_scale_fn=tfp_glow.glow_log_scale)),
    'coupling-tanh_bound-channel': Entry(coupling(
        network=tfp_glow.GatedConvNet, tanh_bound=True)),
    'coupling-tanh_bound-checkerboard': Entry(coupling(
        'checkerboard', network=resnet, tanh_bound=True)),
    'coupling-checkerboard-odd': Entry(coupling('checkerboard', channels=3),
                                       shape=(3, 4, 4, 3), channels=3),
    'coupling-context': Entry(
        coupling('checkerboard', 1),
        kwargs=lambda: {'context': tiny_images((3, 4, 4, 1), seed=3)}),
    'permutation-reverse': Entry(
        lambda: tfp_glow.ChannelPermutation.reverse(4)),
    'permutation-shuffle': Entry(
        lambda: tfp_glow.ChannelPermutation.shuffle(4, seed=0)),
    'batch_norm-inference': Entry(batch_norm_with_averages),
    # Momentum 0: the averages are the last training batch's statistics, so
    # `forward` inverts every training-mode `inverse`.
    'batch_norm-training': Entry(
        lambda: tfp_glow.BatchNorm(4, momentum=0., dtype=F64),
        kwargs=lambda: {'training': True},
        data=lambda: tiny_images(seed=1, scale=2., offset=0.5),
        latent_from_data=True),
    # Checks no image shape: a latent of another rank broadcasts against its
    # parameters (and TF's broadcasting refuses other channel counts).
    'class_prior': Entry(
        lambda: tfp_glow.ClassPrior([4, 4, 4], 3, dtype=F64),
        kwargs=lambda: {'labels': tf.constant([2, 0, 1])},
        rejects=('dtype',)),
    # Without a prior, only TFP's Split and Reshape see its inputs: they
    # refuse bad shapes in their own words and pass integer images.
    'factor_out': Entry(lambda: factor_out(kept_flow(), (4, 4, 4)),
                        shape=(3, 64), rejects=()),
    'factor_out-split_prior': Entry(
        lambda: factor_out(kept_flow(), (4, 4, 4), split_prior(4, F64)),
        shape=(3, 64), methods=DATA_SIDE),
    # Elementwise TFP bijectors: any shape.
    'learned_prior': Entry(lambda: learned_prior([4, 4, 4], F64),
                           rejects=('dtype',)),
    'image_domain': Entry(
        lambda: ImageDomain((4, 4, 4)), methods=DATA_SIDE,
        channel_error=r'expects images of shape \[\.\.\., 4, 4, {channels}\], '
                      r'got shape \(1, 4, 4, {got}\)'),
    'actnorm-vector': vector_entry(
        lambda: tfp_glow.ActNorm(4, event_ndims=1, dtype=F64)),
    'linear-lu-vector': vector_entry(lambda: tfp_glow.Invertible1x1Conv(
        4, seed=0, event_ndims=1, dtype=F64)),
    'permutation-vector': vector_entry(
        lambda: tfp_glow.ChannelPermutation.shuffle(4, seed=0, event_ndims=1)),
    'coupling-affine-vector-halves': vector_entry(
        coupling(network=mlp, tanh_bound=True, event_ndims=1)),
    'coupling-additive-vector-binary': vector_entry(coupling(
        [1, 0, 1, 0], 1, additive=True, network=mlp, event_ndims=1)),
    'logit_preprocessing': Entry(
        lambda: tfp_glow.logit_preprocessing(0.05, F64), data=pixels,
        rejects=('dtype',)),
}


def names(bad_input=None):
  """Names of the entries, or of those that reject `bad_input`."""
  return [name for name, entry in BIJECTORS.items()
          if bad_input is None or bad_input in entry.rejects]
