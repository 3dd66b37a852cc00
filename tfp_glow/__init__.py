"""tfp_glow: Glow and RealNVP normalizing flows as TensorFlow Probability bijectors."""

from tfp_glow.bijectors import (
    ActNorm,
    ChannelPermutation,
    Coupling,
    Invertible1x1Conv,
    Squeeze,
    data_dependent_init,
)
from tfp_glow.dequantization import bits_per_dim, uniform_dequantize
from tfp_glow.models import Glow, flow_distribution
from tfp_glow.nets import GlowNet

__all__ = [
    'ActNorm',
    'ChannelPermutation',
    'Coupling',
    'Glow',
    'GlowNet',
    'Invertible1x1Conv',
    'Squeeze',
    'bits_per_dim',
    'data_dependent_init',
    'flow_distribution',
    'uniform_dequantize',
]
