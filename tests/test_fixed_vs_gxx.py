"""Property test: the numpy quantizer equals g++ with Xilinx ap_types on random values and random types."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from codegen.fixed import FixedType, ROUNDING_MODES, SATURATION_MODES
from codegen.toolchain import compile_shared, find_ap_types

SRC_FRAC = 24  # the C++ side reads sources as ap_fixed<64, 40>: raw int64 with 24 fractional bits


def _random_types(n: int, seed: int) -> list[FixedType]:
    rng = np.random.default_rng(seed)
    types = []
    for k in range(n):
        q = ROUNDING_MODES[k % len(ROUNDING_MODES)]
        o = SATURATION_MODES[(k // len(ROUNDING_MODES)) % len(SATURATION_MODES)]
        signed = bool(rng.integers(0, 2)) if k >= 56 else (k % 2 == 0)
        w = int(rng.integers(2 if signed else 1, 33))
        i = int(rng.integers(-4, w + 6))
        types.append(FixedType(w, i, signed, q, o))
    return types


TYPES = _random_types(112, seed=1234)

PROGRAM = r"""
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "ap_fixed.h"
typedef ap_fixed<64, 40> src_t;
template <class T, int W> unsigned long long bits(const T &v) {
    ap_uint<W> b = v.range(W - 1, 0);
    return (unsigned long long)b.to_uint64();
}
int main() {
    char mode[4]; int k; char val[128];
    while (scanf("%3s %d %127s", mode, &k, val) == 3) {
        unsigned long long out = 0;
        if (mode[0] == 'd') {
            double d = strtod(val, 0);
            switch (k) {
{% for t in types %}                case {{ loop.index0 }}: { {{ t }} x = d; out = bits<{{ t }}, {{ t.width }}>(x); break; }
{% endfor %}            }
        } else {
            long long raw = strtoll(val, 0, 10);
            src_t s; s.range(63, 0) = ap_uint<64>((unsigned long long)raw);
            switch (k) {
{% for t in types %}                case {{ loop.index0 }}: { {{ t }} x = s; out = bits<{{ t }}, {{ t.width }}>(x); break; }
{% endfor %}            }
        }
        printf("%llu\n", out);
        fflush(stdout);
    }
    return 0;
}
"""


def _signed_from_bits(u: int, t: FixedType) -> int:
    if t.signed and u >= 1 << (t.width - 1):
        return u - (1 << t.width)
    return u


class Oracle:
    def __init__(self, exe):
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def query_many(self, lines: list[str]) -> list[int]:
        out, _ = subprocess.Popen([self.exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True).communicate(
            "\n".join(lines) + "\n")
        return [int(v) for v in out.split()]

    def query(self, line: str) -> int:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    import jinja2

    d = tmp_path_factory.mktemp("apfixed_oracle")
    src = d / "oracle.cpp"
    src.write_text(jinja2.Template(PROGRAM).render(types=TYPES))
    exe = compile_shared([src], d / "oracle", [find_ap_types()], opt="-O0", shared=False)
    o = Oracle(exe)
    o.exe = str(exe)
    yield o
    o.close()


def test_bulk_random_values_all_types(oracle):
    rng = np.random.default_rng(7)
    lines, expected = [], []
    for k, t in enumerate(TYPES):
        span = max(t.integer + 3, 1)
        doubles = np.concatenate([
            rng.normal(0, 2.0 ** min(span, 30), 60),
            np.round(rng.normal(0, 2.0 ** min(span, 30), 30) * 2.0 ** (t.frac + 1)) / 2.0 ** (t.frac + 1),  # halves
        ])
        raws = rng.integers(-(2**62), 2**62, 60, dtype=np.int64) >> rng.integers(0, 62, 60)
        ref_d = t.quantize_float(doubles)
        ref_r = t.quantize_raw(raws, SRC_FRAC)
        for v, r in zip(doubles, ref_d):
            lines.append(f"d {k} {float(v).hex()}")
            expected.append((t, int(r)))
        for v, r in zip(raws, ref_r):
            lines.append(f"f {k} {int(v)}")
            expected.append((t, int(r)))
    got = oracle.query_many(lines)
    mism = [(line, e, _signed_from_bits(g, t)) for line, (t, e), g in zip(lines, expected, got)
            if _signed_from_bits(g, t) != e]
    assert not mism, f"{len(mism)} mismatches, first: {mism[:5]} types {[TYPES[int(m[0].split()[1])] for m in mism[:5]]}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(0, len(TYPES) - 1), raw=st.integers(-(2**63), 2**63 - 1), shift=st.integers(0, 63))
def test_property_fixed_to_fixed(oracle, k, raw, shift):
    t = TYPES[k]
    raw = raw >> shift
    expect = int(t.quantize_raw(np.array([raw], dtype=object), SRC_FRAC)[0])
    assert _signed_from_bits(oracle.query(f"f {k} {raw}"), t) == expect, (str(t), raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(0, len(TYPES) - 1), x=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_property_double_to_fixed(oracle, k, x):
    t = TYPES[k]
    expect = int(t.quantize_float(np.array([x]))[0])
    assert _signed_from_bits(oracle.query(f"d {k} {float(x).hex()}"), t) == expect, (str(t), x)
