"""QAT training with per-layer magnitude pruning, for one trial.

    >>> model, info = train_design(spec, data, design, seed=3)     # doctest: +SKIP
    >>> info["accuracy_keras"], info["sparsity"]                   # doctest: +SKIP
    (0.94, {'fc1': 0.5, 'fc2': 0.0, 'out': 0.25})

Layers with a sparsity are wrapped with tfmot's ``prune_low_magnitude`` and a ``PolynomialDecay`` schedule
from 0 to the layer's sparsity between ``training.prune_start`` and ``training.prune_end`` (fractions of the
training steps); the rest of training fine-tunes the pruned weights. ``strip_pruning`` then removes the
wrappers, and the weights are loaded into a freshly built, unwrapped model (the same builder, so the layer
names, and thus the codegen config and the saved ``.npz``, match).
"""
from __future__ import annotations

import logging
import math
import os
import time

import numpy as np

from .model import build_model, layer_plan, matrix_layers

__all__ = ["set_tf_threads", "build_for", "train_design", "model_weights", "load_weights", "evaluate"]

log = logging.getLogger(__name__)


def set_tf_threads(n: int = 1) -> None:
    """One (or ``n``) TF thread(s); a no-op once TF's runtime started (it keeps what it had)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:
        pass


def build_for(spec, data, design: dict, prune=None):
    """The trial's model (see :func:`dse.study.model.build_model`) for ``spec`` and the loaded ``data``."""
    return build_model(layer_plan(spec.model), list(data.X_train.shape[1:]), design, data.input_bits,
                       data.input_integer_bits, spec.search.weight_integer_bits,
                       spec.search.activation_integer_bits, prune=prune)


def _compile(model, lr: float) -> None:
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(lr),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def evaluate(model, X, y) -> float:
    """Top-1 accuracy of a Keras model (logits)."""
    return float((np.asarray(model.predict(X, verbose=0, batch_size=4096)).argmax(1) == y).mean())


def model_weights(model) -> dict[str, np.ndarray]:
    """``{"<layer>/<i>": array}`` of every layer with weights: what is saved as ``weights.npz``."""
    return {f"{l.name}/{i}": np.asarray(w) for l in model.layers for i, w in enumerate(l.get_weights())}


def load_weights(model, weights: dict[str, np.ndarray]) -> None:
    """Inverse of :func:`model_weights` (raises KeyError when a layer's weights are missing)."""
    for l in model.layers:
        n = len(l.get_weights())
        if n:
            l.set_weights([weights[f"{l.name}/{i}"] for i in range(n)])


def train_design(spec, data, design: dict, seed: int = 0):
    """Train the trial's QKeras model with QAT and pruning. Returns ``(model, info)``: the stripped,
    unwrapped model and ``{"accuracy_keras", "sparsity" (per layer, achieved), "train_seconds", "epochs"}``."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    tf.keras.backend.clear_session()  # one trial after another in a process: keep graphs and names fresh
    tf.keras.utils.set_random_seed(int(seed))
    tr = spec.training
    epochs, batch = int(tr["epochs"]), int(tr["batch_size"])
    steps = max(1, math.ceil(len(data.X_train) / batch)) * epochs
    begin = int(steps * tr["prune_start"])
    span = max(1, int(steps * tr["prune_end"]) - begin)
    freq = max(1, span // 10)
    end = begin + freq * max(1, span // freq)
    end = min(end, steps - 1) if steps > 1 else end
    begin = min(begin, max(0, end - 1))

    def prune(layer, sparsity):
        sched = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=float(sparsity),
                                                     begin_step=begin, end_step=end, frequency=freq)
        return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=sched)

    pruned = any(float(design[n].get("sparsity", 0)) > 0 for n in matrix_layers(layer_plan(spec.model)))
    model = build_for(spec, data, design, prune=prune if pruned else None)
    _compile(model, float(tr["learning_rate"]))
    callbacks = [tfmot.sparsity.keras.UpdatePruningStep()] if pruned else []
    t = time.time()
    model.fit(data.X_train, data.y_train, epochs=epochs, batch_size=batch, verbose=0, callbacks=callbacks,
              shuffle=True)
    seconds = time.time() - t
    if pruned:
        model = tfmot.sparsity.keras.strip_pruning(model)
    clean = build_for(spec, data, design)
    load_weights(clean, model_weights(model))
    sparsity = {}
    for name in matrix_layers(layer_plan(spec.model)):
        k = clean.get_layer(name).get_weights()[0]
        sparsity[name] = float((k == 0).mean())
    info = {"accuracy_keras": evaluate(clean, data.X_test, data.y_test), "sparsity": sparsity,
            "train_seconds": seconds, "epochs": epochs}
    return clean, info
