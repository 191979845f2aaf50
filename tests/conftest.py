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


def random_fixed_type(rng, lo=2, hi=18, signed=None, modes=True) -> str:
    """A random ap_fixed type string (width lo..hi, random rounding/saturation when ``modes``) for generated tests."""
    import codegen
    from codegen.fixed import ROUNDING_MODES, SATURATION_MODES

    w = int(rng.integers(lo, hi + 1))
    i = int(rng.integers(-1, min(w, 8) + 2))
    s = bool(rng.random() < 0.85) if signed is None else signed
    q = str(rng.choice(ROUNDING_MODES)) if modes and rng.random() < 0.5 else "AP_TRN"
    o = str(rng.choice(SATURATION_MODES)) if modes and rng.random() < 0.5 else "AP_WRAP"
    return str(codegen.FixedType(w, i, s, q, o))
