"""RealNVP over vectors: affine couplings with MLPs on [D] events."""

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfp_glow.bijectors import ActNorm, Coupling, TanhLogScale
from tfp_glow.bijectors.coupling import network_outputs
from tfp_glow.flows.base import CouplingNetwork, Flow, network_factory
from tfp_glow.nets import MLP

__all__ = ['VectorRealNVP']

_MASKS = ('alternating', 'halves')


def _binary_mask(mask: str | Sequence[int], num_dims: int):
  """The couplings' mask: a name's binary sequence, or the one given."""
  if isinstance(mask, str):
    if mask not in _MASKS:
      raise ValueError(f'mask must be one of {list(_MASKS)} or a binary '
                       f'sequence, got {mask!r}.')
    if mask == 'halves':
      return 'channel'
    return (np.arange(num_dims) % 2 == 0).astype(np.int32)
  return mask


class VectorRealNVP(Flow):
  """RealNVP over vectors [1]: stacked affine couplings with MLP networks.

  Data -> latent, for a [D] vector x:

  ```none
  [ActNorm] -> Coupling(mask b, parity 0) -> [ActNorm] -> Coupling(parity 1)
    -> ... (num_couplings couplings)
  z_b = (x_b + t(x_a)) * s(x_a),  log s = c tanh(h(x_a) / c)   per coupling
  log p(x) = log N(z; 0, I) + sum over couplings of sum(log s)
  ```

  Consecutive couplings swap which entries condition, so every entry is
  transformed. The masks: `'alternating'` (even entries condition, then odd
  ones: RealNVP's checkerboard over a vector), `'halves'` (the first half,
  then the second) or a binary sequence (1: conditions). For D = 2 all of
  them condition x_1 on x_0 and then x_0 on x_1.

  #### Examples

  ```python
  flow = tfp_glow.VectorRealNVP(2, num_couplings=8, hidden_channels=64)
  dist = tfp_glow.flow_distribution(flow)     # over [N, 2] points
  loss = -tf.reduce_mean(dist.log_prob(points))
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017. https://arxiv.org/abs/1605.08803
  """

  def __init__(self,
               num_dims: int,
               num_couplings: int = 8,
               hidden_channels: int | Sequence[int] = 64,
               num_hidden_layers: int = 2,
               mask: str | Sequence[int] = 'alternating',
               actnorm: bool = True,
               coupling_network: CouplingNetwork | None = None,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'vector_real_nvp'):
    """Builds the flow.

    Args:
      num_dims: Python `int` >= 2, the D of the [D] vectors.
      num_couplings: Python `int` >= 1, the affine couplings.
        Default value: 8.
      hidden_channels: Python `int`, the width of the MLPs' hidden layers,
        or a sequence of their widths.
        Default value: 64.
      num_hidden_layers: Python `int`, the MLPs' hidden layers when
        `hidden_channels` is one width.
        Default value: 2.
      mask: `'alternating'`, `'halves'` or a binary sequence of `num_dims`
        0s and 1s (1: conditions in the first coupling).
        Default value: `'alternating'`.
      actnorm: Python `bool`, an `ActNorm` before every coupling.
        Default value: `True`.
      coupling_network: the couplings' network as a factory,
        `coupling_network(output_channels, hidden_channels, dtype=...)`,
        from [N, D] to [N, output_channels].
        Default value: `None`, a `tfp_glow.MLP` of `num_hidden_layers`
        layers.
      validate_args: Python `bool`, passed to the bijectors.
        Default value: `False`.
      dtype: floating `tf.DType` of the vectors and parameters.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'vector_real_nvp'.

    Raises:
      ValueError: for fewer than 2 dimensions or 1 coupling, an unknown
        mask, `'halves'` over an odd D, or a binary mask of another length.
    """
    parameters = dict(locals())
    if num_dims < 2:
      raise ValueError('A coupling needs vectors of at least 2 entries, got '
                       f'num_dims={num_dims}.')
    if num_couplings < 1:
      raise ValueError(f'VectorRealNVP needs num_couplings >= 1, got '
                       f'{num_couplings}.')
    binary = _binary_mask(mask, num_dims)
    outputs = network_outputs(num_dims, binary)
    make_network = network_factory(
        coupling_network or functools.partial(MLP,
                                              num_layers=num_hidden_layers),
        hidden_channels, dtype)
    bijectors = []
    for index in range(num_couplings):
      if actnorm:
        bijectors.append(ActNorm(num_dims, event_ndims=1,
                                 validate_args=validate_args, dtype=dtype,
                                 name=f'act_norm_{index}'))
      bijectors.append(Coupling(
          num_dims, make_network(outputs), mask=binary, parity=index % 2,
          log_scale_fn=TanhLogScale(outputs // 2, dtype), event_ndims=1,
          validate_args=validate_args, dtype=dtype,
          name=f'coupling_{index}'))
    super().__init__(bijectors, [num_dims], [num_dims],
                     validate_args=validate_args, dtype=dtype,
                     parameters=parameters, name=name)
