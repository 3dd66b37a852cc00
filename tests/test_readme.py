"""The README's example and test command stay true."""

import pathlib
import re

import numpy as np

README = (pathlib.Path(__file__).parents[1] / 'README.md').read_text()


EXAMPLES = re.findall(r'```python\n(.*?)```', README, re.DOTALL)


def run(example):
  namespace = {}
  exec(example, namespace)  # noqa: S102 - our own README.
  return namespace


def test_bijector_example_runs():
  namespace = run(EXAMPLES[0])
  assert namespace['samples'].shape == [16, 8, 8, 1]
  assert all(v.numpy() for v in namespace['flow'].variables
             if v.name.endswith('initialized:0'))


def test_model_example_runs():
  namespace = run(EXAMPLES[1])
  assert namespace['latents'].shape == [8, 784]
  assert namespace['cold'].shape == [4, 28, 28, 1]
  # Bits/dim of the density and of the variational bound, one per image.
  for name in ('bits', 'bound_bits'):
    assert namespace[name].shape == [8]
    assert np.all(np.isfinite(namespace[name])), name


def test_ci_runs_the_readme_test_command():
  ci = (pathlib.Path(__file__).parents[1] / '.ci' / 'run').read_text()
  command = ci.strip().splitlines()[-1]
  assert f'```bash\n{command}\n```' in README
