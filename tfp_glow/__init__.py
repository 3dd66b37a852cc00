"""tfp_glow: Glow and RealNVP normalizing flows as TensorFlow Probability bijectors."""

import sys

from tfp_glow import start_up

if sys.argv[:1] == ['-m'] and start_up.wanted(sys.argv):
  start_up.hold()   # `python -m tfp_glow` (see start_up.py)

from tfp_glow import (
    augmentation,
    averaging,
    data,
    flows,
    optimizers,
    precision,
    presets,
    registry,
)
from tfp_glow.bijectors import (
    ActNorm,
    BatchNorm,
    ChannelPermutation,
    ClassPrior,
    Coupling,
    Invertible1x1Conv,
    Squeeze,
    TanhLogScale,
    UninitializedActNormWarning,
    data_dependent_init,
    glow_log_scale,
    logit_preprocessing,
    tanh_log_scale,
)
from tfp_glow.classifier import class_log_likelihoods, classify
from tfp_glow.dequantization import (
    VariationalDequantizer,
    bin_centres,
    bits_per_dim,
    log_likelihood_bound,
    uniform_dequantize,
)
from tfp_glow.export import export_saved_model
from tfp_glow.flows import (
    Glow,
    RealNVP,
    SimpleFlow,
    VectorRealNVP,
    flow_distribution,
)
from tfp_glow.nets import MLP, GatedConvNet, GlowNet, ResNet
from tfp_glow.optimizers import LinearWarmup
from tfp_glow.training import FlowModel

__all__ = [
  'MLP',
  'ActNorm',
  'BatchNorm',
  'ChannelPermutation',
  'ClassPrior',
  'Coupling',
  'FlowModel',
  'GatedConvNet',
  'Glow',
  'GlowNet',
  'Invertible1x1Conv',
  'LinearWarmup',
  'RealNVP',
  'ResNet',
  'SimpleFlow',
  'Squeeze',
  'TanhLogScale',
  'UninitializedActNormWarning',
  'VariationalDequantizer',
  'VectorRealNVP',
  'augmentation',
  'averaging',
  'bin_centres',
  'bits_per_dim',
  'class_log_likelihoods',
  'classify',
  'data',
  'data_dependent_init',
  'export_saved_model',
  'flow_distribution',
  'flows',
  'glow_log_scale',
  'log_likelihood_bound',
  'logit_preprocessing',
  'optimizers',
  'precision',
  'presets',
  'registry',
  'tanh_log_scale',
  'uniform_dequantize',
]
