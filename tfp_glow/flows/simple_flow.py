"""The UvA tutorial's flows: checkerboard couplings, optionally multi-scale."""

import functools

import tensorflow as tf

from tfp_glow.bijectors import logit_preprocessing
from tfp_glow.flows.base import (
    CouplingNetwork,
    MultiScaleFlow,
    affine_couplings,
    check_image_shape,
    network_factory,
    squeeze,
)
from tfp_glow.nets import GatedConvNet

__all__ = ['SimpleFlow']


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
               coupling_network: CouplingNetwork | None = None,
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
      coupling_network: the couplings' network as a factory,
        `coupling_network(output_channels, hidden_channels, dtype=...)`.
        Default value: `None`, a `tfp_glow.GatedConvNet` of `num_layers`
        gated convolutions.
      num_classes, validate_args, dtype: as for `Glow` (unconditional,
        `False`, `tf.float32`).
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'simple_flow'.

    Raises:
      ValueError: for a multi-scale flow on images whose H or W is not
        divisible by 4.
    """
    parameters = dict(locals())
    num_levels = 2 if multi_scale else 1
    check_image_shape(image_shape, 2 * (num_levels - 1), 'SimpleFlow')

    network = coupling_network or functools.partial(GatedConvNet,
                                                    num_layers=num_layers)

    def gated(width):
      return network_factory(network, width, dtype)

    def level(index, shape, is_last):
      if not multi_scale:
        return affine_couplings(
            shape, 'checkerboard', 8, gated(hidden_channels), dtype), shape
      if index == 0:
        before = affine_couplings(
            shape, 'checkerboard', 2, gated(hidden_channels), dtype)
        step, shape = squeeze(shape, validate_args)
        after = affine_couplings(
            shape, 'channel', 2, gated(hidden_channels * 3 // 2), dtype)
        return [*before, step, *after], shape
      step, shape = squeeze(shape, validate_args)
      after = affine_couplings(
          shape, 'channel', 4, gated(hidden_channels * 2), dtype)
      return [step, *after], shape

    super().__init__(
        image_shape, num_levels, level, num_classes=num_classes,
        preprocessing=[logit_preprocessing(1e-5, dtype)],
        validate_args=validate_args, dtype=dtype, parameters=parameters,
        name=name)
