"""Count zero weights (pruned models): zero multiplications make no hardware and no work."""
from __future__ import annotations

import numpy as np

from ..ir import Graph


def count_zero_weights(graph: Graph) -> Graph:
    """Record ``n_zeros``, ``nonzero`` and ``max_nonzero_per_output`` in each matrix layer's attrs.

    Zeros are counted after quantization to the layer's weight precision (a tiny weight that rounds to 0 is
    pruned in hardware too).
    """
    from ..emulator.kernels import weight_raw

    for layer in graph:
        if not layer.is_matrix:
            continue
        w = weight_raw(layer, "kernel", "weight")
        n_in, n_out = layer.matrix_shape()
        w2 = np.asarray(w).reshape(n_in, n_out)
        nz = int(np.count_nonzero(w2))
        layer.attrs["n_zeros"] = n_in * n_out - nz
        layer.attrs["nonzero"] = nz
        layer.attrs["max_nonzero_per_output"] = int(np.count_nonzero(w2, axis=0).max()) if n_out else 0
    return graph
