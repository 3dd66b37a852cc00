"""Named Glow recipes: a Glow's size and its training settings.

```python
preset = tfp_glow.presets.PRESETS['glow_cifar10']
flow = preset.flow((32, 32, 3))                  # the paper's CIFAR-10 Glow
small = preset.flow((32, 32, 3), hidden_channels=16, steps_per_level=2)
```

and on the command line `python -m tfp_glow train --preset glow_cifar10
--dataset cifar10 --out runs/cifar10`, where any flag given overrides the
preset's value.
"""

import dataclasses

from tfp_glow import optimizers
from tfp_glow.flows import Glow

__all__ = ['CPU_PRESET', 'PRESETS', 'Preset']


@dataclasses.dataclass(frozen=True)
class Preset:
  """A Glow's size and its training settings, named after its data set.

  Every preset's Glow has affine couplings, LU-decomposed 1x1 convolutions, a
  learned conditional prior for each factored-out half and a learned top
  prior (`Glow`'s defaults).

  Attributes:
    description: one line: what the recipe is and where it comes from.
    dataset: the data set it is meant for (a `tfp_glow.data.DATASETS` name).
    levels: L, squeeze levels.
    steps_per_level: K, flow steps per level.
    hidden_channels: width of the coupling networks.
    batch_size: global batch (over all replicas and workers).
    learning_rate: Adam's, after the warmup.
    warmup_steps: linear learning-rate warmup.
    decay: 'cosine' decays the learning rate to 0 over the run's epochs.
    target_bits_per_dim: the published test bits/dim, if any.
  """
  description: str
  dataset: str
  levels: int
  steps_per_level: int
  hidden_channels: int
  batch_size: int = 64
  learning_rate: float = optimizers.DEFAULT_LEARNING_RATE
  warmup_steps: int = optimizers.DEFAULT_WARMUP_STEPS
  decay: str = 'none'
  target_bits_per_dim: float | None = None

  # The command line's `train` flags (argparse names) that a preset sets.
  CLI_SETTINGS = ('levels', 'steps_per_level', 'hidden_channels',
                  'batch_size', 'learning_rate', 'warmup_steps', 'decay')

  def flow(self, image_shape, seed: int | None = None, **sizes) -> Glow:
    """The preset's Glow for `image_shape`; `sizes` override `levels`,
    `steps_per_level` or `hidden_channels` (e.g. a narrow copy for tests)."""
    unknown = set(sizes) - {'levels', 'steps_per_level', 'hidden_channels'}
    if unknown:
      raise TypeError(f'a preset flow takes levels, steps_per_level and '
                      f'hidden_channels, got {", ".join(sorted(unknown))}.')
    size = dataclasses.replace(self, **sizes)
    return Glow(image_shape, num_levels=size.levels,
                num_steps_per_level=size.steps_per_level,
                hidden_channels=size.hidden_channels, seed=seed)

  def cli_settings(self) -> dict:
    """The values of the `train` flags it sets, by argparse name."""
    return {name: getattr(self, name) for name in self.CLI_SETTINGS}


PRESETS = {
    'glow_mnist': Preset(
        description='tfp_glow\'s MNIST Glow (the command line\'s defaults '
        'on a GPU).',
        dataset='mnist_5k', levels=2, steps_per_level=16,
        hidden_channels=256),
    'glow_mnist_cpu': Preset(
        description='tfp_glow\'s MNIST Glow for a CPU (the command line\'s '
        'defaults for a Glow where TensorFlow finds no GPU): digits in the '
        'first half hour on 2 cores.',
        dataset='mnist_5k', levels=2, steps_per_level=8,
        hidden_channels=128),
    'glow_cifar10': Preset(
        description=(
            'The Glow paper\'s CIFAR-10 model (Kingma & Dhariwal 2018, '
            'openai/glow: --n_level 3 --depth 32 --width 512 --flow_coupling '
            '1 (affine) --learntop --lr 0.001, 8 GPUs x 64 images, a linear '
            'warmup over 10 epochs of 50,000 images): 3.35 bits/dim.'),
        dataset='cifar10', levels=3, steps_per_level=32, hidden_channels=512,
        batch_size=512, learning_rate=1e-3, warmup_steps=977,
        target_bits_per_dim=3.35),
}
# `train`'s recipe for a Glow without --preset where TensorFlow finds no GPU.
CPU_PRESET = 'glow_mnist_cpu'
