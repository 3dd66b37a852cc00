"""Glow: squeeze, K x [ActNorm, 1x1 convolution, coupling], factor out."""

import numpy as np
import tensorflow as tf

from tfp_glow.bijectors import (
    ActNorm,
    ChannelPermutation,
    Coupling,
    Invertible1x1Conv,
)
from tfp_glow.bijectors.coupling import LOG_SCALES, network_outputs
from tfp_glow.bijectors.split import learned_prior, split_prior
from tfp_glow.flows.base import (
    CouplingNetwork,
    MultiScaleFlow,
    check_image_shape,
    network_factory,
    squeeze,
)
from tfp_glow.nets import GlowNet

__all__ = ['Glow']

_PERMUTATIONS = {
    'lu': lambda c, seed, dtype: Invertible1x1Conv(c, seed=seed, dtype=dtype),
    'plain': lambda c, seed, dtype: Invertible1x1Conv(
        c, lu_decomposed=False, seed=seed, dtype=dtype),
    'reverse': lambda c, seed, dtype: ChannelPermutation.reverse(c),
    'shuffle': lambda c, seed, dtype: ChannelPermutation.shuffle(c, seed=seed),
}


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
               coupling_network: CouplingNetwork = GlowNet,
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
      coupling_network: the couplings' network as a factory,
        `coupling_network(output_channels, hidden_channels, dtype=...)`
        (`tfp_glow.flows.CouplingNetwork`).
        Default value: `tfp_glow.GlowNet`, the paper's.
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
    make_network = network_factory(coupling_network, hidden_channels, dtype)

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
            Coupling(channels,
                     make_network(network_outputs(channels, additive=additive)),
                     additive=additive,
                     log_scale_fn=LOG_SCALES[coupling_log_scale],
                     validate_args=validate_args, dtype=dtype),
        ]
      return steps, shape

    super().__init__(
        image_shape, num_levels, level,
        split_prior_fn=(lambda c: split_prior(c, dtype)) if use_split_prior
        else None,
        top_prior_fn=(lambda shape: [learned_prior(shape, dtype)]) if learn_top
        else None,
        num_classes=num_classes, validate_args=validate_args, dtype=dtype,
        parameters=parameters, name=name)
