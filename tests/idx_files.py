"""IDX files (MNIST's format) written by the tests themselves."""

import gzip

import numpy as np


def write_idx(path, array: np.ndarray) -> bytes:
  """`array` (unsigned bytes) as an IDX file, gzipped if `path` ends in .gz.

  ```none
  0, 0, 0x08 (unsigned byte), rank;  rank big-endian uint32 dims;  values
  ```
  """
  content = bytes([0, 0, 0x08, array.ndim]) + np.asarray(
      array.shape, '>u4').tobytes() + array.astype('>u1').tobytes()
  with (gzip.open if str(path).endswith('.gz') else open)(path, 'wb') as file:
    file.write(content)
  return content


def write_idx_directory(root, arrays: dict, gzipped: bool = True) -> str:
  """The four files of MNIST's layout in `root` from `arrays`:
  {'train': (images, labels), 't10k': (images, labels)}."""
  suffix = '.gz' if gzipped else ''
  for split, (images, labels) in arrays.items():
    write_idx(root / f'{split}-images-idx3-ubyte{suffix}', images)
    write_idx(root / f'{split}-labels-idx1-ubyte{suffix}', labels)
  return str(root)
