"""A quiet start for `python -m tfp_glow`: TensorFlow's C++ start-up lines
(its search for CUDA on a machine without a GPU, notes on CPU instructions)
are held back while TensorFlow loads and finds its devices.

`python -m tfp_glow` imports the package before it runs `__main__`, so the
package's `__init__` starts holding (only when Python runs it with `-m`, and
only without `--verbose` or a `TF_CPP_MIN_LOG_LEVEL` of the user's) and
`__main__` releases once the devices are known. What was held is shown if
the start fails: `release(show=True)`, or at exit if nothing released it.
TensorFlow's C++ logging then stays off (`TF_CPP_MIN_LOG_LEVEL=3`): on a
CPU its "errors" are notes (oneDNN's fallback for boolean ops at the first
step, say); a failure that matters raises a Python exception, which `main`
reports.
"""

import atexit
import os
import sys
import tempfile

__all__ = ['hold', 'release', 'wanted']

_held = None   # (the real stderr's duplicate, the file holding the lines)


def wanted(argv: list[str]) -> bool:
  """Whether `python -m tfp_glow` with `argv` should start quietly."""
  return ('--verbose' not in argv[1:]
          and 'TF_CPP_MIN_LOG_LEVEL' not in os.environ)


def hold() -> None:
  """Sends the process's stderr (fd 2) to a temporary file from now on."""
  global _held
  os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
  sys.stderr.flush()
  held = tempfile.TemporaryFile()  # noqa: SIM115 (open until release)
  _held = (os.dup(2), held)
  os.dup2(held.fileno(), 2)
  atexit.register(release, show=True)


def release(show: bool = False) -> None:
  """Gives stderr back; writes what was held to it if `show`."""
  global _held
  if _held is None:
    return
  saved, held = _held
  _held = None
  sys.stderr.flush()
  os.dup2(saved, 2)
  os.close(saved)
  if show:
    held.seek(0)
    sys.stderr.buffer.write(held.read())
    sys.stderr.flush()
  held.close()
