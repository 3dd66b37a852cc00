"""Whole flows: one bijector from a flat N(0, I) latent to images or vectors.

`base.py` holds the multi-scale frame and `flow_distribution`; each model
family has its own module. A new model is a module here and an entry in
`tfp_glow.registry`.
"""

from tfp_glow.flows.base import (
    CouplingNetwork,
    Flow,
    MultiScaleFlow,
    flow_distribution,
)
from tfp_glow.flows.glow import Glow
from tfp_glow.flows.real_nvp import RealNVP
from tfp_glow.flows.simple_flow import SimpleFlow
from tfp_glow.flows.vector import VectorRealNVP

__all__ = [
    'CouplingNetwork',
    'Flow',
    'Glow',
    'MultiScaleFlow',
    'RealNVP',
    'SimpleFlow',
    'VectorRealNVP',
    'flow_distribution',
]
