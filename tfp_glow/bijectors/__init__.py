"""Glow and RealNVP bijectors over NHWC images (events of shape [H, W, C])."""

from tfp_glow.bijectors.actnorm import (
    ActNorm,
    UninitializedActNormWarning,
    data_dependent_init,
)
from tfp_glow.bijectors.batch_norm import BatchNorm
from tfp_glow.bijectors.class_prior import ClassPrior
from tfp_glow.bijectors.coupling import (
    Coupling,
    TanhLogScale,
    glow_log_scale,
    network_outputs,
    tanh_log_scale,
)
from tfp_glow.bijectors.invertible_conv import Invertible1x1Conv
from tfp_glow.bijectors.permutations import ChannelPermutation
from tfp_glow.bijectors.preprocessing import logit_preprocessing
from tfp_glow.bijectors.squeeze import Squeeze

__all__ = [
    'ActNorm',
    'BatchNorm',
    'ChannelPermutation',
    'ClassPrior',
    'Coupling',
    'Invertible1x1Conv',
    'Squeeze',
    'TanhLogScale',
    'UninitializedActNormWarning',
    'data_dependent_init',
    'glow_log_scale',
    'logit_preprocessing',
    'network_outputs',
    'tanh_log_scale',
]
