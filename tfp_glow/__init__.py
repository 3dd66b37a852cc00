"""tfp_glow: Glow and RealNVP normalizing flows as TensorFlow Probability bijectors."""

from tfp_glow.bijectors import (
    ActNorm,
    ChannelPermutation,
    Coupling,
    Invertible1x1Conv,
    Squeeze,
    data_dependent_init,
)
from tfp_glow.nets import GlowNet

__all__ = [
    'ActNorm',
    'ChannelPermutation',
    'Coupling',
    'GlowNet',
    'Invertible1x1Conv',
    'Squeeze',
    'data_dependent_init',
]
