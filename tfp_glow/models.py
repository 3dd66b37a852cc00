"""The import path of the flows before `tfp_glow.flows`: kept for users.

`tfp_glow.models.Glow` is `tfp_glow.flows.Glow` (and `tfp_glow.Glow`).
"""

from tfp_glow.flows import (
    Glow,
    MultiScaleFlow,
    RealNVP,
    SimpleFlow,
    flow_distribution,
)

__all__ = ['Glow', 'MultiScaleFlow', 'RealNVP', 'SimpleFlow',
           'flow_distribution']
