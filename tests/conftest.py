import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tf():
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(2)
    return tf


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def grid(x, frac_bits=8):
    """Values on a 2**-frac_bits grid: exactly representable in the usual input types and in float32."""
    return np.round(np.asarray(x) * 2**frac_bits) / 2**frac_bits
