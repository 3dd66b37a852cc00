"""The README's example and test command stay true."""

import pathlib
import re

README = (pathlib.Path(__file__).parents[1] / 'README.md').read_text()


def test_example_runs():
  example = re.search(r'```python\n(.*?)```', README, re.DOTALL).group(1)
  namespace = {}
  exec(example, namespace)  # noqa: S102 - our own README.
  assert namespace['samples'].shape == [16, 8, 8, 1]
  assert all(v.numpy() for v in namespace['flow'].variables
             if v.name.endswith('initialized:0'))


def test_ci_runs_the_readme_test_command():
  ci = (pathlib.Path(__file__).parents[1] / '.ci' / 'run').read_text()
  command = ci.strip().splitlines()[-1]
  assert f'```bash\n{command}\n```' in README
