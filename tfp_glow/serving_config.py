"""TF Serving's configuration files for an export's base directory.

`models.config` (a ModelServerConfig) names the model and its base path;
`batching_parameters.txt` (a BatchingParameters) lets the server merge
requests along their rows, which every signature allows. Both are text
protos, written once beside the versions and never overwritten: a user's
edits stay.
"""

import os

__all__ = ['BATCHING_PARAMETERS_FILE', 'MODEL_CONFIG_FILE',
           'batching_parameters', 'model_config', 'write_serving_config']

BATCHING_PARAMETERS_FILE = 'batching_parameters.txt'
MODEL_CONFIG_FILE = 'models.config'


def batching_parameters(max_batch_size: int = 64) -> str:
  """BatchingParameters: batches of up to `max_batch_size` rows, 2 ms wait."""
  return (
      '# TF Serving merges requests along their rows, up to max_batch_size\n'
      '# rows, waiting at most batch_timeout_micros for more.\n'
      f'max_batch_size {{ value: {max_batch_size} }}\n'
      'batch_timeout_micros { value: 2000 }\n'
      'max_enqueued_batches { value: 100 }\n'
      'num_batch_threads { value: 2 }\n')


def model_config(export_dir: str) -> str:
  """ModelServerConfig serving every version under `export_dir`, with the
  command lines (tensorflow_model_server, Docker) that read it."""
  base = os.path.abspath(export_dir)
  name = os.path.basename(base)
  flags = (f'--model_config_file={base}/{MODEL_CONFIG_FILE} --enable_batching '
           f'--batching_parameters_file={base}/{BATCHING_PARAMETERS_FILE}')
  return (
      f'# Serve {name} (REST on 8501, gRPC on 8500):\n'
      f'#   tensorflow_model_server --port=8500 --rest_api_port=8501 {flags}\n'
      '# or with Docker, the directory mounted at the same path:\n'
      f'#   docker run -p 8500:8500 -p 8501:8501 -v {base}:{base} '
      f'tensorflow/serving {flags}\n'
      'model_config_list {\n'
      '  config {\n'
      f'    name: "{name}"\n'
      f'    base_path: "{base}"\n'
      '    model_platform: "tensorflow"\n'
      '  }\n'
      '}\n')


def write_serving_config(export_dir: str) -> list[str]:
  """Writes the files `export_dir` lacks; returns the paths of all of them."""
  contents = {MODEL_CONFIG_FILE: model_config(export_dir),
              BATCHING_PARAMETERS_FILE: batching_parameters()}
  paths = []
  for name, text in contents.items():
    path = os.path.join(export_dir, name)
    if not os.path.exists(path):
      with open(path, 'w') as file:
        file.write(text)
    paths.append(path)
  return paths
