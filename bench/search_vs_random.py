"""Benchmark: hypervolume reached by the study's search vs random search, and syntheses needed.

The space is the digits MLP of ``studies/digits_mlp.yml`` (64-32-16-10, Resource strategy) restricted to
what can be enumerated: one weight bit width and one activation bit width for the whole model (2..8 each)
and a reuse factor per layer (1, 2, 4, 8, 16, 32; snapped to hls4ml's valid values): 7 x 7 x 6^3 = 10,584
designs, all of which are evaluated up front:

- accuracy: a cheap proxy, the post-training quantization of one float-trained model (QKeras with the
  design's quantizers and the float weights, exact test accuracy); it depends on the bits only;
- resources and latency: the surrogate (``estimators.estimate_many`` on codegen's design facts, one
  conversion per bit pair), or, with ``--resources analytic`` or when no surrogate is installed, a crude
  multiplier-count model (then the figures say so).

The best known front is the exact Pareto front of the enumeration (objectives: accuracy max, LUT, DSP,
latency min; the device budget of digits_mlp.yml as constraints). Each search (ours: multivariate TPE as
``dse run`` configures it by default; NSGA-II with the population ``dse run`` picks; random search) then runs
N trials through the same sampler factory and suggest code as ``dse run`` (looking designs up in the table),
over several seeds, in this same run.
Hypervolumes use one normalization (the enumeration's bounds, reference point 1.1).
Syntheses: ``dse run`` synthesizes ``pareto_candidates`` designs picked along the found front; the
benchmark reports that count against the designs evaluated, and the hypervolume those candidates alone
retain (measured = predicted here: it is the search that is benchmarked, not the surrogate).

    python bench/search_vs_random.py [--trials 200] [--seeds 5] [--candidates 10] [--target yosys-xc7]
                                     [--resources surrogate|analytic] [--samplers tpe,nsga2,random]
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np

log = logging.getLogger("bench")

BITS = list(range(2, 9))
REUSE = [1, 2, 4, 8, 16, 32]
LAYERS = ["fc1", "fc2", "out"]
OBJECTIVES = ["accuracy", "lut", "dsp", "latency"]
DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
BUDGET = {"lut": 60000, "dsp": 220, "bram_18k": 280}

STUDY = """
name: bench
data: {source: "sklearn:digits", test_fraction: 0.2}
model: {input_shape: [64], hidden: [32, 16], outputs: 10, input_bits: 12}
search:
  trials: %(trials)d
  sampler: %(sampler)s%(population)s
  seed: %(seed)d
  space:
    weight_bits: {low: 2, high: 8, per_layer: false}
    activation_bits: {low: 2, high: 8, per_layer: false}
    reuse_factor: [1, 2, 4, 8, 16, 32]
    strategy: [resource]
  objectives: [accuracy:max, lut:min, dsp:min, latency:min]
  constraints: {lut: 60000, dsp: 220, bram_18k: 280}
hardware: {surrogate: yosys-xc7}
synthesis: {pareto_candidates: %(cands)d}
storage: memory
"""


POPULATION: int | None = None  # --population: NSGA-II population (default: what dse run picks)


def _spec(sampler: str, trials: int, seed: int, cands: int):
    from dse.study.spec import parse_study_text

    pop = f"\n  population: {POPULATION}" if POPULATION else ""
    return parse_study_text(STUDY % dict(trials=trials, sampler=sampler, seed=seed, cands=cands, population=pop),
                            check_surrogate=False)


def accuracy_table(spec, data, epochs: int) -> dict[tuple[int, int], tuple[float, dict]]:
    """(wb, ab) -> (PTQ accuracy, design facts at reuse 1) for every bit pair."""
    import tensorflow as tf

    import codegen
    from dse.study.objective import hls_config
    from dse.study.train import build_for, load_weights

    tf.keras.utils.set_random_seed(0)
    design = {n: {"weight_bits": 16, "activation_bits": 16, "reuse_factor": 1, "strategy": "resource"}
              for n in LAYERS}
    L = tf.keras.layers
    fp = tf.keras.Sequential([L.Input((64,)), L.Dense(32, activation="relu", name="fc1"),
                              L.Dense(16, activation="relu", name="fc2"), L.Dense(10, name="out")])
    fp.compile(tf.keras.optimizers.Adam(3e-3), tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fp.fit(data.X_train, data.y_train, epochs=epochs, batch_size=64, verbose=0)
    weights = {f"{l.name}/{i}": w for l in fp.layers for i, w in enumerate(l.get_weights())}
    table = {}
    for wb, ab in itertools.product(BITS, BITS):
        d = {n: dict(design[n], weight_bits=wb, activation_bits=ab) for n in LAYERS}
        m = build_for(spec, data, d)
        load_weights(m, weights)
        hm = codegen.convert(m, config=hls_config(spec, data, m, d), output_dir="/nonexistent/bench",
                             part="xc7z020clg400-1", clock_period=10)
        acc = float((hm.predict(data.X_test).argmax(1) == data.y_test).mean())
        table[(wb, ab)] = (acc, codegen.design_facts(hm.graph))
    return table


def _with_reuse(facts: dict, rfs: tuple[int, ...]) -> dict:
    from codegen.reuse import snap_reuse_factor

    f = json.loads(json.dumps(facts))
    by_name = dict(zip(LAYERS, rfs))
    for layer in f["layers"]:
        if layer["name"] in by_name:
            layer["reuse"] = snap_reuse_factor(layer["n_in"], layer["n_out"], min(by_name[layer["name"]],
                                                                                  layer["n_in"] * layer["n_out"]))
    return f


def analytic(facts: dict) -> dict:
    """Crude stand-in for the surrogate: multipliers ceil(nnz/reuse), in DSPs when the product is wide."""
    lut = ff = dsp = 0.0
    lat, ii = 2.0, 1.0
    for f in facts["layers"]:
        if f["kind"] != "Dense":
            continue
        mults = math.ceil(f["nonzero_params"] / f["reuse"])
        prod = f["weight_bits"] * f["input_bits"]
        if f["weight_bits"] + f["input_bits"] > 12:
            dsp += mults
            lut += 30 * mults
        else:
            lut += mults * prod * 0.8
        ff += mults * f["accum_bits"]
        lat += f["reuse"] + 3
        ii = max(ii, f["reuse"])
    return {"lut": lut + 200, "ff": ff + 100, "dsp": dsp, "bram_18k": 0.0, "latency": lat, "ii": ii}


def enumerate_space(table, resources: str, target: str) -> dict:
    """(wb, ab, rf1, rf2, rf3) -> objective values and constraint values, for the whole space."""
    keys, facts = [], []
    for (wb, ab), (acc, f) in table.items():
        for rfs in itertools.product(REUSE, repeat=3):
            keys.append((wb, ab) + rfs)
            facts.append(_with_reuse(f, rfs))
    if resources == "surrogate":
        import estimators

        df = estimators.estimate_many(facts, target=target)
        pred = [{"lut": r["lut"], "dsp": r["dsp"], "bram_18k": r["bram_18k"], "latency": r["latency_cycles"]}
                for _, r in df.iterrows()]
    else:
        pred = [analytic(f) for f in facts]
    out = {}
    for k, p in zip(keys, pred):
        acc = table[(k[0], k[1])][0]
        cons = [(p[n] - b) / b for n, b in BUDGET.items()]
        out[k] = ([acc, p["lut"], p["dsp"], p["latency"]], cons)
    return out


def run_search(sampler: str, trials: int, seed: int, space: dict, cands: int):
    import optuna

    from dse.study.space import suggest_design
    from dse.study.storage import make_sampler

    spec = _spec(sampler, trials, seed, cands)
    study = optuna.create_study(directions=DIRECTIONS, sampler=make_sampler(spec))

    def objective(trial):
        d = suggest_design(trial, spec)
        key = (d["fc1"]["weight_bits"], d["fc1"]["activation_bits"]) + tuple(d[n]["reuse_factor"] for n in LAYERS)
        values, cons = space[key]
        for n, c in zip(BUDGET, cons):
            trial.set_constraint(n, c)
        trial.set_user_attr("key", list(key))
        return tuple(values)

    study.optimize(objective, n_trials=trials)
    return study, spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--candidates", type=int, default=10, help="pareto_candidates: designs synthesized")
    ap.add_argument("--resources", choices=["surrogate", "analytic"], default=None)
    ap.add_argument("--target", default="yosys-xc7")
    ap.add_argument("--samplers", default="tpe,nsga2,random", help="the first one is \"ours\" (dse run's default)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--population", type=int, default=None, help="NSGA-II population (default: dse run's)")
    args = ap.parse_args()
    global POPULATION
    POPULATION = args.population
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from dse.study.train import set_tf_threads

    set_tf_threads(1)
    import estimators

    from dse.study.candidates import feasible_front, select_candidates
    from dse.study.data import load_data
    from dse.study.hypervolume import hypervolume, normalize, pareto_mask, to_minimization

    resources = args.resources
    if resources is None:
        avail = estimators.available_targets()
        resources = "surrogate" if args.target in avail else "analytic"
        if resources == "analytic":
            log.warning("surrogate %r is not installed: using the analytic resource model", args.target)
    t0 = time.time()
    spec0 = _spec("nsga2", args.trials, 0, args.candidates)
    data = load_data(spec0)
    table = accuracy_table(spec0, data, args.epochs)
    space = enumerate_space(table, resources, args.target)
    t_enum = time.time() - t0
    keys = list(space)
    V = to_minimization(np.array([space[k][0] for k in keys]), DIRECTIONS)
    feas = np.array([all(c <= 0 for c in space[k][1]) for k in keys])
    N, lo, hi = normalize(V[feas])
    ref = np.full(len(OBJECTIVES), 1.1)
    true_front = N[pareto_mask(N)]
    hv_true = hypervolume(true_front, ref)
    log.info("enumerated %d designs (%d feasible, %d on the front) in %.0f s; resources: %s", len(keys),
             int(feas.sum()), len(true_front), t_enum, resources)

    def hv_of(values, feasible_mask=None):
        if len(values) == 0:
            return 0.0
        W, _, _ = normalize(to_minimization(np.asarray(values, dtype=float), DIRECTIONS), lo, hi)
        if feasible_mask is not None:
            W = W[np.asarray(feasible_mask, dtype=bool)]
        return hypervolume(W, ref) if len(W) else 0.0

    checkpoints = [n for n in (20, 40, 100, 200, 400, 800) if n < args.trials] + [args.trials]
    results: dict = {}
    for sampler in args.samplers.split(","):
        per_seed = []
        for seed in range(args.seeds):
            t = time.time()
            study, spec = run_search(sampler, args.trials, seed, space, args.candidates)
            trials = sorted(study.trials, key=lambda tr: tr.number)
            fmask = [all(c <= 0 for c in tr.constraints.values()) for tr in trials]
            curve = {n: hv_of([tr.values for tr in trials[:n]], fmask[:n]) / hv_true for n in checkpoints}
            picks = select_candidates(feasible_front(study), spec, args.candidates)
            cand_hv = hv_of([tr.values for tr in picks]) / hv_true if picks else 0.0
            distinct = len({tuple(tr.user_attrs["key"]) for tr in trials})
            per_seed.append({"curve": curve, "candidates_hv": cand_hv, "distinct": distinct,
                             "seconds": time.time() - t})
        results[sampler] = per_seed
        c = {n: [s["curve"][n] for s in per_seed] for n in checkpoints}
        log.info("%-6s " + "  ".join(f"N={n}: {np.mean(v):.3f} (min {np.min(v):.3f})" for n, v in c.items()),
                 sampler)

    print(f"\nspace: {len(keys)} designs ({int(feas.sum())} feasible); true front: {len(true_front)} designs; "
          f"resources from the {resources if resources == 'analytic' else 'surrogate ' + args.target}; "
          f"accuracy: PTQ proxy; {args.seeds} seeds")
    print(f"{'sampler':8s} " + " ".join(f"{'HV@' + str(n):>14s}" for n in checkpoints)
          + f" {'HV of ' + str(args.candidates) + ' cands':>16s} {'s/search':>9s}")
    for sampler, per_seed in results.items():
        cols = []
        for n in checkpoints:
            v = [s["curve"][n] for s in per_seed]
            cols.append(f"{100 * np.mean(v):6.1f}% ({100 * np.min(v):4.1f})")
        cv = [s["candidates_hv"] for s in per_seed]
        print(f"{sampler:8s} " + " ".join(f"{c:>14s}" for c in cols)
              + f" {100 * np.mean(cv):15.1f}% {np.mean([s['seconds'] for s in per_seed]):9.1f}")
    ours = args.samplers.split(",")[0]
    final = [s["curve"][args.trials] for s in results[ours]]
    print(f"\n{ours}: {100 * np.mean(final):.1f}% of the best known front's hypervolume after {args.trials} trials "
          f"(mean of {args.seeds} seeds; worst {100 * np.min(final):.1f}%), vs random "
          f"{100 * np.mean([s['curve'][args.trials] for s in results.get('random', results[ours])]):.1f}%")
    print(f"syntheses: {args.candidates} candidates for {args.trials} designs evaluated = "
          f"{100 * args.candidates / args.trials:.1f}% (synthesizing every trial: {args.trials}; "
          f"the whole space: {len(keys)})")
    print(f"goal (>= 95% HV with <= 5% synthesized): "
          f"{'met' if np.mean(final) >= 0.95 and args.candidates / args.trials <= 0.05 else 'NOT met'}")


if __name__ == "__main__":
    main()
