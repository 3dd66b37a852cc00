"""RealNVP's logit preprocessing of images in [0, 1]."""

import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors

__all__ = ['logit_preprocessing']


def logit_preprocessing(alpha: float = 0.05,
                        dtype: tf.DType = tf.float32) -> tfb.Bijector:
  """Maps logits to images; its inverse is RealNVP's preprocessing [1].

  ```none
  inverse:  y = logit(alpha + (1 - 2 alpha) x),   x in [0, 1]
  forward:  x = (sigmoid(y) - alpha) / (1 - 2 alpha)
  log|det J| is counted by TFP's Sigmoid, Shift and Scale.
  ```

  `alpha` keeps the logits finite at x = 0 and x = 1.

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017. https://arxiv.org/abs/1605.08803
  """
  if not 0. < alpha < 0.5:
    raise ValueError(f'alpha must lie in (0, 0.5), got {alpha!r}.')
  return tfb.Chain([
      tfb.Scale(tf.constant(1. / (1. - 2. * alpha), dtype)),
      tfb.Shift(tf.constant(-alpha, dtype)),
      tfb.Sigmoid(),
  ], name='logit_preprocessing')
