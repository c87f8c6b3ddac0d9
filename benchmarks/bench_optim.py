"""Optimizer step: our fused C pass vs the NumPy reference chain vs torch.optim (foreach off / on).

Two parameter sets: the toy CNN's (conv 3x3x1x32, conv 3x3x32x64, dense 3136x100, dense 100x10 and
their biases: 333,526 float32 values in 8 tensors) and one 10 M-value tensor. Each row times one
optimizer step over the whole set; GB/s counts the bytes an ideal single pass must move (parameter,
gradient and state read, parameter and state written). "tg Optimizer" is the full
`apply_gradients` path (Python bookkeeping + the fused kernels), which is what training pays.

    PYTHONPATH=. python benchmarks/bench_optim.py [--threads 1 2] [--repeat 7] [--json out.json]
"""
import numpy as np

from common import (max_abs_err, optional_torch, parse_args, print_table, race, set_threads,
                    write_json)
from tinygrad_ko import optim
from tinygrad_ko._backend import c_available, ref, set_backend
from tinygrad_ko.tensor import Tensor

CNN_SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (3136, 100), (100,), (100, 10), (10,)]
SETS = {"toy CNN (0.33 M)": CNN_SHAPES, "one 10 M tensor": [(10_000_000,)]}

# name -> (our optimizer, torch factory, state arrays per parameter, Keras hyper-parameters)
OPTIMIZERS = {
    "SGD m=0.9": (lambda: optim.SGD(0.01, momentum=0.9),
                  lambda torch, ps, fe: torch.optim.SGD(ps, lr=0.01, momentum=0.9, foreach=fe), 1),
    "Adam": (lambda: optim.Adam(0.001),
             lambda torch, ps, fe: torch.optim.Adam(ps, lr=0.001, eps=1e-7, foreach=fe), 2),
    "RMSprop": (lambda: optim.RMSprop(0.001),
                lambda torch, ps, fe: torch.optim.RMSprop(ps, lr=0.001, alpha=0.9, eps=1e-7,
                                                          foreach=fe), 1),
}


def _raw_step(module, name, params, grads, states):
    """One step straight through a kernel module (c or ref), bypassing the Optimizer class."""
    for p, g, s in zip(params, grads, states):
        if name.startswith("SGD"):
            module.sgd_update(p, s[0], g, 0.01, 0.9, False, 1.0, np.inf, 0.0)
        elif name == "Adam":
            module.adam_update(p, s[0], s[1], None, g, 1e-3, 0.9, 0.999, 1e-7, 1.0, np.inf, 0.0)
        else:
            module.rmsprop_update(p, s[0], None, None, g, 1e-3, 0.9, 0.0, 1e-7, 1.0, np.inf, 0.0)


def bench_set(set_name, shapes, threads, repeat, torch, rng):
    rows = []
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 0.1 for s in shapes]
    n = sum(v.size for v in values)
    from tinygrad_ko._backend import c as c_impl
    for name, (make_ours, make_torch, n_state) in OPTIMIZERS.items():
        bytes_moved = n * 4 * (3 + 2 * n_state)  # read p, g, state; write p, state
        c_params = [v.copy() for v in values]
        c_states = [[np.zeros_like(v) for _ in range(n_state)] for v in values]
        r_params = [v.copy() for v in values]
        r_states = [[np.zeros_like(v) for _ in range(n_state)] for v in values]
        tensors = [Tensor(v.copy()) for v in values]
        ours = make_ours()
        fns = {
            "fused C": lambda: _raw_step(c_impl, name, c_params, grads, c_states),
            "NumPy chain": lambda: _raw_step(ref, name, r_params, grads, r_states),
            "tg Optimizer": lambda: ours.apply_gradients(zip(grads, tensors)),
        }
        if torch is not None:
            for foreach in (False, True):
                tps = [torch.tensor(v.copy(), requires_grad=True) for v in values]
                for tp, g in zip(tps, grads):
                    tp.grad = torch.from_numpy(g)
                topt = make_torch(torch, tps, foreach)
                fns[f"torch foreach={foreach}"] = topt.step
        best = race(fns, repeat=repeat)
        # three steps of each from the same start, to show the fused pass computes the same thing
        a, b = [v.copy() for v in values], [v.copy() for v in values]
        a_states = [[np.zeros_like(v) for _ in range(n_state)] for v in values]
        b_states = [[np.zeros_like(v) for _ in range(n_state)] for v in values]
        for _ in range(3):
            _raw_step(c_impl, name, a, grads, a_states)
            _raw_step(ref, name, b, grads, b_states)
        err = max(max_abs_err(x, y) for x, y in zip(a, b))
        for impl, seconds in best.items():
            rows.append({"set": set_name, "optimizer": name, "threads": threads, "impl": impl,
                         "us": seconds * 1e6, "gbs": bytes_moved / seconds / 1e9,
                         "vs_c": seconds / best["fused C"],
                         "err": err if impl == "NumPy chain" else None})
    return rows


def main():
    args = parse_args(__doc__.splitlines()[0])
    if not c_available():
        raise SystemExit("the C backend is not built: python setup.py build_ext --inplace")
    set_backend("c")
    torch = optional_torch()
    rng = np.random.default_rng(0)
    rows = []
    for threads in args.threads:
        set_threads(threads)
        for set_name, shapes in SETS.items():
            rows += bench_set(set_name, shapes, threads, args.repeat, torch, rng)
    columns = [("set", "parameters", "{}"), ("optimizer", "optimizer", "{}"),
               ("threads", "thr", "{}"), ("impl", "implementation", "{}"),
               ("us", "µs/step", "{:.0f}"), ("gbs", "GB/s", "{:.1f}"),
               ("vs_c", "time / fused C", "{:.2f}"), ("err", "max |C - ref|", "{:.1e}")]
    print_table(rows, columns, title="Optimizer step (float32), best of "
                f"{args.repeat}; GB/s = ideal single-pass bytes / time")
    write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
