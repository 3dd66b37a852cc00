"""Every notebook runs top to bottom in a fast mode; none carries outputs."""

import pathlib

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
}


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
  client = nbclient.NotebookClient(
      notebook, timeout=600, kernel_name='python3',
      resources={'metadata': {'path': str(tmp_path)}})
  client.execute()        # raises CellExecutionError on any failing cell
  images = sum(1 for cell in notebook.cells if cell.cell_type == 'code'
               for output in cell.outputs
               if 'image/png' in output.get('data', {}))
  assert images >= 3      # the plots were drawn
