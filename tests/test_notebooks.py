"""Every notebook runs top to bottom in a fast mode; none carries outputs."""

import pathlib

import nbclient
import nbformat
import pytest

NOTEBOOKS = pathlib.Path(__file__).parents[1] / 'notebooks'

# The tests' run lengths, injected after each notebook's parameter cell.
FAST_PARAMETERS = {
    'glow_mnist': '''
EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 2, 2, 16
NUM_LEVELS, STEPS_PER_LEVEL, HIDDEN_CHANNELS = 2, 1, 8
''',
    'realnvp_mnist': '''
EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 2, 2, 16
HIDDEN_CHANNELS, NUM_BLOCKS = 8, 1
''',
    'dequantization_mnist': '''
STEPS, BATCH_SIZE, HIDDEN_CHANNELS = 2, 16, 8
''',
}
# No downloads: tfp_glow.data's tensorflow-datasets calls get mock MNIST.
SETUP = '''
import tensorflow_datasets as tfds
_mock = tfds.testing.mock_data(num_examples=64)
_mock.__enter__()
'''


def load(name):
  return nbformat.read(NOTEBOOKS / f'{name}.ipynb', as_version=4)


def test_every_notebook_has_fast_parameters():
  assert sorted(p.stem for p in NOTEBOOKS.glob('*.ipynb')) == sorted(
      FAST_PARAMETERS)


@pytest.mark.parametrize('name', sorted(FAST_PARAMETERS))
def test_notebook_carries_no_outputs(name):
  for cell in load(name).cells:
    if cell.cell_type == 'code':
      assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize('name', sorted(FAST_PARAMETERS))
def test_notebook_runs(name, tmp_path):
  notebook = load(name)
  index = next(i for i, cell in enumerate(notebook.cells)
               if 'parameters' in cell.metadata.get('tags', []))
  notebook.cells.insert(index + 1,
                        nbformat.v4.new_code_cell(FAST_PARAMETERS[name]))
  notebook.cells.insert(0, nbformat.v4.new_code_cell(SETUP))
  client = nbclient.NotebookClient(
      notebook, timeout=600, kernel_name='python3',
      resources={'metadata': {'path': str(tmp_path)}})
  client.execute()        # raises CellExecutionError on any failing cell
  images = sum(1 for cell in notebook.cells if cell.cell_type == 'code'
               for output in cell.outputs
               if 'image/png' in output.get('data', {}))
  assert images >= 3      # the plots were drawn
