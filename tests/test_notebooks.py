"""Every notebook carries the outputs of a real run and runs top to bottom in
a fast mode on a copy.

The committed outputs come from `jupyter execute --inplace --timeout -1
notebooks/NAME.ipynb` with the parameter cell as committed (which says how
long it took and on what machine).
"""

import pathlib
import re

import nbclient
import nbformat
import pytest

NOTEBOOKS = pathlib.Path(__file__).parents[1] / 'notebooks'

# The tests' run lengths, injected after each notebook's parameter cell; the
# data are real MNIST digits that need no download (mnist_5k).
FAST_PARAMETERS = {
    'glow_mnist': '''
DATASET = 'mnist_5k'
EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 2, 2, 16
NUM_LEVELS, STEPS_PER_LEVEL, HIDDEN_CHANNELS = 2, 1, 8
''',
    'realnvp_mnist': '''
DATASET = 'mnist_5k'
EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 2, 2, 16
HIDDEN_CHANNELS, NUM_BLOCKS = 8, 1
''',
    'dequantization_mnist': '''
DATASET = 'mnist_5k'
STEPS, BATCH_SIZE = 2, 16
HIDDEN_CHANNELS, NUM_LAYERS, DEQUANTIZER_COUPLINGS = 8, 1, 2
''',
    'flows_2d': '''
NUM_POINTS, STEPS, BATCH_SIZE = 300, 5, 64
NUM_COUPLINGS, HIDDEN, GRID = 2, 8, 20
''',
}


def load(name):
  return nbformat.read(NOTEBOOKS / f'{name}.ipynb', as_version=4)


def test_every_notebook_has_fast_parameters():
  assert sorted(p.stem for p in NOTEBOOKS.glob('*.ipynb')) == sorted(
      FAST_PARAMETERS)


def images(notebook) -> int:
  return sum(1 for cell in notebook.cells if cell.cell_type == 'code'
             for output in cell.outputs
             if 'image/png' in output.get('data', {}))


@pytest.mark.parametrize('name', sorted(FAST_PARAMETERS))
def test_notebook_carries_the_outputs_of_a_real_run(name):
  notebook = load(name)
  code = [cell for cell in notebook.cells if cell.cell_type == 'code']
  # Every cell ran, top to bottom in one kernel, without an error.
  assert [cell.execution_count for cell in code] == list(
      range(1, len(code) + 1))
  outputs = [output for cell in code for output in cell.outputs]
  assert not [output for output in outputs if output.output_type == 'error']
  assert images(notebook) >= 3
  # The MNIST notebooks on the offline digits; the run's length and machine
  # said.
  (parameters,) = [cell for cell in code
                   if 'parameters' in cell.metadata.get('tags', [])]
  if name.endswith('_mnist'):
    assert "DATASET = 'mnist_5k'" in parameters.source
  assert re.search(r'run on 2 CPU cores \(.*, \d+ minutes\)',
                   parameters.source)


@pytest.mark.parametrize('name', sorted(FAST_PARAMETERS))
def test_notebook_runs(name, tmp_path):
  notebook = load(name)
  index = next(i for i, cell in enumerate(notebook.cells)
               if 'parameters' in cell.metadata.get('tags', []))
  notebook.cells.insert(index + 1,
                        nbformat.v4.new_code_cell(FAST_PARAMETERS[name]))
  client = nbclient.NotebookClient(
      notebook, timeout=600, kernel_name='python3',
      resources={'metadata': {'path': str(tmp_path)}})
  client.execute()        # raises CellExecutionError on any failing cell
  assert images(notebook) >= 3      # the plots were drawn
