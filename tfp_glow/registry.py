"""The one list of model configurations.

The command line (`train --model NAME`), the tests (every property, idiom,
stability and export check loops over `MODELS`) and the benchmarks read it:
a new model is one entry here and inherits all of them.

```python
config = tfp_glow.registry.MODELS['glow']
flow = config.build((28, 28, 1))                  # the main job's Glow
flow = config.build((28, 28, 1), {'levels': 3})   # as `train --levels 3`
tiny = config.small((8, 8, 1), width=8)           # for property checks
vector = tfp_glow.registry.MODELS['realnvp_vector'].build((2,))
```

Image models take [H, W, C] shapes; vector models (`event_ndims` 1) take
[D]. The command line trains the image models (`IMAGE_MODELS`).
"""

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from tfp_glow.flows import Flow, Glow, RealNVP, SimpleFlow, VectorRealNVP
from tfp_glow.presets import PRESETS

__all__ = ['IMAGE_MODELS', 'MODELS', 'RENAMED', 'ModelConfig', 'Size']

@dataclasses.dataclass(frozen=True)
class Size:
  """A constructor argument that a `train` flag sets.

  Attributes:
    argument: the flow constructor's argument.
    default: the flag's default (the main job's).
    to_argument: maps the flag's value to the argument's, if they differ;
      raises a ValueError for a value the model can not take.
  """
  argument: str
  default: Any
  to_argument: Callable[[Any], Any] | None = None


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """A flow family, the arguments that make one variant of it, its sizes.

  Attributes:
    flow: the `Flow` subclass.
    sizes: the `Size`s that `train` flags set, by flag name (argparse dest),
      e.g. `levels` -> `num_levels`.
    variant: constructor arguments fixed for this entry; the flags of the
      sizes they fix do not apply to it.
    shallow: arguments that make the smallest depth (one step per level,
      one residual block): for property checks, whose outcome depends on
      neither depth nor width.
    conditional: `True` if the entry is class-conditional: it needs
      `num_classes` (the data's, or the tests').
    legacy: flag values that a run's config.json lacks because it was
      written before the flag existed, where today's default would build
      another model (Glow's coupling scale was openai/glow's sigmoid);
      `tfp_glow.runs` fills them in when it reads a run.
    event_ndims: 3 for a flow over [H, W, C] images, 1 over [D] vectors.
  """
  flow: type[Flow]
  sizes: Mapping[str, Size]
  variant: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  shallow: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  conditional: bool = False
  legacy: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  event_ndims: int = 3

  @property
  def flags(self) -> dict[str, Size]:
    """The sizes `train` flags may set: those the variant does not fix."""
    return {flag: size for flag, size in self.sizes.items()
            if size.argument not in self.variant}

  def arguments(self, values: Mapping[str, Any] | None = None
                ) -> dict[str, Any]:
    """Constructor arguments for flag values `values` (by flag name);
    a missing flag takes its default.

    Raises:
      ValueError: for a value the model can not take.
    """
    values = values or {}
    arguments = {}
    for flag, size in self.flags.items():
      value = values.get(flag, size.default)
      arguments[size.argument] = (size.to_argument(value) if size.to_argument
                                  else value)
    return arguments

  def build(self, data_shape, values: Mapping[str, Any] | None = None,
            **arguments) -> Flow:
    """The flow on `data_shape` events ([H, W, C] images, [D] vectors) for
    flag values `values`; `arguments` go to the constructor as they are and
    win.

    Raises:
      ValueError: for sizes the model or the data shape can not take, or a
        conditional entry without `num_classes`.
    """
    if self.conditional and not arguments.get('num_classes'):
      raise ValueError(f'{self.flow.__name__} of this entry is '
                       'class-conditional and needs num_classes.')
    data_shape = tuple(data_shape)
    if len(data_shape) != self.event_ndims:
      raise ValueError(
          f'{self.flow.__name__} takes events of rank {self.event_ndims}, '
          f'got shape {data_shape}.')
    first = data_shape if self.event_ndims == 3 else data_shape[0]
    return self.flow(first, **{
        **self.variant, **self.arguments(values), **arguments})

  def small(self, data_shape, width: int = 8, **arguments) -> Flow:
    """The entry at its shallowest depth, `width` channels wide."""
    return self.build(data_shape, **{
        **self.shallow, 'hidden_channels': width, **arguments})


def _multi_scale(levels: int) -> bool:
  """SimpleFlow's `multi_scale` for `--levels`: 1 or 2."""
  if levels not in (1, 2):
    raise ValueError(f'SimpleFlow has 1 or 2 levels, got {levels}.')
  return levels == 2


_MAIN_JOB = PRESETS['glow_mnist']
_GLOW_SIZES = {
    'levels': Size('num_levels', _MAIN_JOB.levels),
    'steps_per_level': Size('num_steps_per_level', _MAIN_JOB.steps_per_level),
    'hidden_channels': Size('hidden_channels', _MAIN_JOB.hidden_channels),
    'coupling_log_scale': Size('coupling_log_scale', 'tanh'),
    'seed': Size('seed', 0),
}
_REAL_NVP_SIZES = {
    'levels': Size('num_scales', 2),
    'hidden_channels': Size('hidden_channels', 64),
    'blocks': Size('num_blocks', 4),
    'batch_norm': Size('batch_norm', True),
    'double_width_per_scale': Size('double_width_per_scale', False),
}
_VECTOR_SIZES = {
    'hidden_channels': Size('hidden_channels', 64),
}
_SIMPLE_SIZES = {
    'levels': Size('multi_scale', 2, _multi_scale),
    'hidden_channels': Size('hidden_channels', 32),
}


def _glow(conditional=False, **variant) -> ModelConfig:
  return ModelConfig(
      Glow, _GLOW_SIZES, variant,
      shallow={'num_steps_per_level': 1},
      conditional=conditional,
      legacy={'coupling_log_scale': 'sigmoid'})


def _real_nvp(**variant) -> ModelConfig:
  return ModelConfig(RealNVP, _REAL_NVP_SIZES, variant,
                     shallow={'num_blocks': 1},
                     legacy={'batch_norm': False})


def _simple_flow(**variant) -> ModelConfig:
  return ModelConfig(SimpleFlow, _SIMPLE_SIZES, variant,
                     shallow={'num_layers': 1})


MODELS = {
    'glow': _glow(),
    'glow_plain': _glow(permutation='plain'),
    'glow_additive': _glow(additive=True),
    'glow_sigmoid': _glow(coupling_log_scale='sigmoid'),   # openai/glow's
    'glow_shuffle': _glow(permutation='shuffle'),
    'glow_reverse_fixed_priors': _glow(permutation='reverse',
                                       use_split_prior=False, learn_top=False),
    'glow_conditional': _glow(conditional=True),
    'realnvp': _real_nvp(),                       # the paper's: batch norm
    'realnvp_no_batch_norm': _real_nvp(batch_norm=False),
    'simple': _simple_flow(),                     # multi-scale: --levels 2
    'simple_single_scale': _simple_flow(multi_scale=False),
    # Two couplings: the fewest that transform every entry.
    'realnvp_vector': ModelConfig(VectorRealNVP, _VECTOR_SIZES,
                                  shallow={'num_couplings': 2}, event_ndims=1),
}

# Entries that runs may name but the registry no longer lists: their entry
# today and the flag values that make the same model.
RENAMED = {'realnvp_batch_norm': ('realnvp', {'batch_norm': True})}

# The models over images, which the command line trains.
IMAGE_MODELS = {name: model for name, model in MODELS.items()
                if model.event_ndims == 3}
