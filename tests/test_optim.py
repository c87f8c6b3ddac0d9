"""Optimizers: Keras 3 rules against closed forms, hand-written NumPy loops, Keras' documented
numbers and PyTorch (where the two rules coincide); clipping, weight decay, schedules, state,
config, errors.
"""
import math

import numpy as np
import pytest

from tinygrad_ko import optim
from tinygrad_ko.tensor import Tensor


def _param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype), requires_grad=True)


def _quadratic_run(opt, x0, a, steps, dtype=np.float64):
    """Minimizes 0.5 * a * x^2 elementwise for `steps` steps; returns x."""
    x = _param(x0, dtype)
    for _ in range(steps):
        opt.apply_gradients([(a * x.data, x)])
    return x.data


# ---- Keras' documented example and closed forms ----


def test_rmsprop_seed_example(backend):
    # seed 004 / keras.io: RMSprop(0.1) minimizing var1 ** 2 / 2 from 10.0 gives 9.683772
    opt = optim.RMSprop(learning_rate=0.1)
    var1 = Tensor(np.float32(10.0), requires_grad=True)
    loss = lambda: (var1 ** 2) / 2.0  # noqa: E731  (the seed's own code)
    step_count = opt.minimize(loss, [var1]).numpy()
    assert step_count == 1
    np.testing.assert_allclose(var1.numpy(), 9.683772, rtol=1e-6)


def test_sgd_plain_closed_form(backend):
    x = _quadratic_run(optim.SGD(learning_rate=0.1), [1.0, -2.0, 3.0], 2.0, 25)
    np.testing.assert_allclose(x, np.array([1.0, -2.0, 3.0]) * (1 - 0.1 * 2.0) ** 25, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_closed_form(backend, nesterov):
    lr, mu, a, steps = 0.05, 0.9, 3.0, 30
    if nesterov:  # x' = x(1 - lr a (1 + mu)) + mu^2 v ;  v' = mu v - lr a x
        transition = np.array([[1 - lr * a * (1 + mu), mu * mu], [-lr * a, mu]])
    else:         # x' = x(1 - lr a) + mu v ;  v' = mu v - lr a x
        transition = np.array([[1 - lr * a, mu], [-lr * a, mu]])
    expected = (np.linalg.matrix_power(transition, steps) @ np.array([2.0, 0.0]))[0]
    x = _quadratic_run(optim.SGD(lr, momentum=mu, nesterov=nesterov), [2.0], a, steps)
    np.testing.assert_allclose(x, [expected], rtol=1e-10)


def _adam_numpy(x, a, steps, lr, b1, b2, eps, amsgrad=False, wd=0.0):
    m = v = v_hat = 0.0
    for t in range(1, steps + 1):
        g = a * x
        x = x - x * wd * lr
        m, v = m + (g - m) * (1 - b1), v + (g * g - v) * (1 - b2)
        v_hat = max(v_hat, v)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        x = x - alpha * m / (math.sqrt(v_hat if amsgrad else v) + eps)
    return x


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_hand_written_loop(backend, amsgrad):
    x = _quadratic_run(optim.Adam(0.1, amsgrad=amsgrad), [1.5], 2.0, 40)
    np.testing.assert_allclose(x, [_adam_numpy(1.5, 2.0, 40, 0.1, 0.9, 0.999, 1e-7, amsgrad)],
                               rtol=1e-10)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_one_call_per_dtype_equals_one_variable_at_a_time(backend, rng, amsgrad):
    """Adam updates all variables of a dtype in one kernel call: with float32 and float64
    variables, weight decay on some and clipnorm scales per variable, every variable ends where
    an optimizer of its own takes it."""
    shapes_dtypes = [((3, 4), np.float32), ((5,), np.float64), ((70000,), np.float32),
                     ((2,), np.float64)]
    start = [rng.standard_normal(shape).astype(dtype) for shape, dtype in shapes_dtypes]
    grads = [[rng.standard_normal(a.shape).astype(a.dtype) for a in start] for _ in range(3)]
    hyper = dict(learning_rate=0.01, amsgrad=amsgrad, weight_decay=0.1, clipnorm=1.0)
    together = [Tensor(a.copy()) for a in start]
    opt = optim.AdamW(**hyper)
    opt.exclude_from_weight_decay(var_list=[together[1]])
    for step in grads:
        opt.apply_gradients(zip(step, together))
    for i, a in enumerate(start):
        alone = Tensor(a.copy())
        single = optim.AdamW(**hyper)
        if i == 1:
            single.exclude_from_weight_decay(var_list=[alone])
        for step in grads:
            single.apply_gradients([(step[i], alone)])
        assert together[i].data.dtype == a.dtype
        np.testing.assert_array_equal(together[i].data, alone.data)


def test_adam_first_step_is_about_the_learning_rate(backend):
    # one step: x1 = x0 - lr * sqrt(1-b2) g / (sqrt(1-b2) |g| + eps), i.e. ~ lr * sign(g)
    x = _quadratic_run(optim.Adam(0.01), [3.0, -4.0], 1.0, 1)
    s = math.sqrt(1 - 0.999)
    np.testing.assert_allclose(x, [3.0 - 0.01 * s * 3 / (s * 3 + 1e-7),
                                   -4.0 + 0.01 * s * 4 / (s * 4 + 1e-7)], rtol=1e-12)


def test_adamw_decays_then_adams(backend):
    x = _quadratic_run(optim.AdamW(0.1, weight_decay=0.5), [1.5], 2.0, 10)
    np.testing.assert_allclose(x, [_adam_numpy(1.5, 2.0, 10, 0.1, 0.9, 0.999, 1e-7, wd=0.5)],
                               rtol=1e-10)


@pytest.mark.parametrize("momentum, centered",
                         [(0.0, False), (0.5, False), (0.0, True), (0.5, True)])
def test_rmsprop_matches_hand_written_loop(backend, momentum, centered):
    lr, rho, eps, a, x = 0.01, 0.9, 1e-7, 2.0, 1.5
    v = mb = avg = 0.0
    for _ in range(15):
        g = a * x
        v = rho * v + (1 - rho) * g * g
        avg = rho * avg + (1 - rho) * g
        inc = lr * g / math.sqrt(v - (avg * avg if centered else 0.0) + eps)
        mb = momentum * mb + inc
        x -= mb if momentum else inc
    ours = _quadratic_run(optim.RMSprop(lr, rho, momentum, eps, centered), [1.5], a, 15)
    np.testing.assert_allclose(ours, [x], rtol=1e-10)


def test_float32_parameters_stay_float32_and_in_place(backend):
    p = _param([1.0, 2.0], np.float32)
    data = p.data
    opt = optim.Adam(0.1)
    opt.apply_gradients([(np.array([1.0, 1.0]), p)])   # float64 gradient is cast
    assert p.data is data and p.data.dtype == np.float32
    np.testing.assert_allclose(p.data, [0.9, 1.9], rtol=1e-5)


# ---- PyTorch as oracle where the rules coincide ----

TORCH_CASES = {
    "sgd": (lambda ps: optim.SGD(0.05, params=ps), lambda t, ps: t.optim.SGD(ps, lr=0.05)),
    "sgd-momentum": (lambda ps: optim.SGD(0.05, momentum=0.9, params=ps),
                     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd-nesterov": (lambda ps: optim.SGD(0.05, momentum=0.9, nesterov=True, params=ps),
                     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    # epsilon placement differs (Keras: epsilon-hat), so make it negligible on both sides
    "adam": (lambda ps: optim.Adam(0.01, epsilon=1e-12, params=ps),
             lambda t, ps: t.optim.Adam(ps, lr=0.01, eps=1e-12)),
    "adam-amsgrad": (lambda ps: optim.Adam(0.01, epsilon=1e-12, amsgrad=True, params=ps),
                     lambda t, ps: t.optim.Adam(ps, lr=0.01, eps=1e-12, amsgrad=True)),
    "adamw": (lambda ps: optim.AdamW(0.01, weight_decay=0.1, epsilon=1e-12, params=ps),
              lambda t, ps: t.optim.AdamW(ps, lr=0.01, weight_decay=0.1, eps=1e-12)),
    # Keras: epsilon inside the square root; PyTorch: outside
    "rmsprop": (lambda ps: optim.RMSprop(0.01, rho=0.9, epsilon=1e-14, params=ps),
                lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.0)),
    "rmsprop-momentum-centered": (
        lambda ps: optim.RMSprop(0.01, rho=0.9, momentum=0.5, centered=True, epsilon=1e-14,
                                 params=ps),
        lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True,
                                      eps=0.0)),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_same_weights_as_torch_after_20_steps(torch, backend, rng, case):
    ours_factory, torch_factory = TORCH_CASES[case]
    shapes = [(4, 3), (3,)]
    init = [rng.standard_normal(s) for s in shapes]
    targets = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(w.copy(), requires_grad=True) for w in init]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in init]
    opt, topt = ours_factory(ours), torch_factory(torch, theirs)
    for step in range(20):
        scale = 1.0 + 0.3 * math.sin(step)  # gradients that change size from step to step
        for p, t, target in zip(ours, theirs, targets):
            g = scale * (p.data - target) ** 3 + 0.1 * p.data
            p.grad = Tensor(g)
            t.grad = torch.from_numpy(scale * (t.detach().numpy() - target) ** 3
                                      + 0.1 * t.detach().numpy())
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-7, atol=1e-9)


# ---- clipping and weight decay ----


def test_clipnorm_clips_each_variable_separately(backend):
    a, b = _param([3.0, 4.0]), _param([0.3, 0.4])
    optim.SGD(1.0, clipnorm=1.0).apply_gradients([(np.array([3.0, 4.0]), a),
                                                   (np.array([0.3, 0.4]), b)])
    np.testing.assert_allclose(a.data, [3 - 0.6, 4 - 0.8])
    np.testing.assert_allclose(b.data, [0.0, 0.0], atol=1e-15)  # norm 0.5 < 1: untouched


def test_global_clipnorm_scales_all_gradients_together(backend):
    a, b = _param([0.0, 0.0]), _param([0.0])
    optim.SGD(1.0, global_clipnorm=1.3).apply_gradients([(np.array([3.0, 4.0]), a),
                                                          (np.array([12.0]), b)])
    np.testing.assert_allclose(a.data, [-0.3, -0.4])   # global norm 13 -> scale 0.1
    np.testing.assert_allclose(b.data, [-1.2])


def test_clipvalue_clips_elements(backend):
    a = _param([0.0, 0.0, 0.0])
    optim.SGD(1.0, clipvalue=0.5).apply_gradients([(np.array([2.0, -0.25, -7.0]), a)])
    np.testing.assert_allclose(a.data, [-0.5, 0.25, 0.5])


def test_only_one_clipping_argument():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and"):
        optim.Adam(clipnorm=1.0, clipvalue=0.5)


def test_weight_decay_is_decoupled_and_can_exclude_variables(backend):
    w = Tensor(np.array([2.0]), requires_grad=True)
    bias = Tensor(np.array([2.0]), requires_grad=True)
    opt = optim.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[bias])
    opt.apply_gradients([(np.array([1.0]), w), (np.array([1.0]), bias)])
    np.testing.assert_allclose(w.data, [2.0 - 2.0 * 0.5 * 0.1 - 0.1])
    np.testing.assert_allclose(bias.data, [2.0 - 0.1])


# ---- schedules ----


def test_schedules_follow_keras_formulas():
    exp = optim.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert exp(0) == pytest.approx(0.1) and exp(10) == pytest.approx(0.05)
    assert exp(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    stair = optim.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stair(9) == pytest.approx(0.1) and stair(19) == pytest.approx(0.05)
    piece = optim.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [piece(s) for s in (0, 100000, 100001, 110000, 110001)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    cos = optim.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert cos(0) == pytest.approx(0.1) and cos(100) == pytest.approx(0.01)
    assert cos(50) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1)) and cos(500) == pytest.approx(0.01)
    warm = optim.CosineDecay(0.0, 100, warmup_target=0.2, warmup_steps=10)
    assert warm(5) == pytest.approx(0.1) and warm(10) == pytest.approx(0.2)
    assert warm(110) == pytest.approx(0.0)


def test_schedule_bad_arguments():
    with pytest.raises(ValueError, match="decay_steps"):
        optim.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than"):
        optim.PiecewiseConstantDecay([1, 2], [1.0])


def test_optimizer_evaluates_schedule_at_iterations(backend):
    schedule = optim.PiecewiseConstantDecay([1], [1.0, 0.1])  # steps 0, 1 -> 1.0; then 0.1
    opt = optim.SGD(schedule)
    x = _param([0.0])
    for _ in range(3):
        assert opt.learning_rate == schedule(opt.iterations)
        opt.apply_gradients([(np.array([1.0]), x)])
    np.testing.assert_allclose(x.data, [-2.1])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5


def test_learning_rate_setter_and_callable():
    opt = optim.SGD(0.1)
    opt.learning_rate = 0.2
    assert opt.learning_rate == 0.2
    assert optim.SGD(lambda: 0.3).learning_rate == 0.3


# ---- binding styles, state, config, lookup ----


def test_pytorch_style_step_and_zero_grad(backend):
    w, unused = _param([1.0, 2.0]), _param([5.0])
    opt = optim.SGD(learning_rate=0.5, params=[w, unused])
    w.grad = Tensor(np.array([1.0, 1.0]))
    opt.step()
    np.testing.assert_allclose(w.data, [0.5, 1.5])
    np.testing.assert_allclose(unused.data, [5.0])   # no grad: skipped
    opt.zero_grad()
    assert w.grad is None and opt.iterations == 1


def test_state_round_trip_continues_identically(backend, rng):
    init = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    grads = [[rng.standard_normal(w.shape) for w in init] for _ in range(5)]
    a = [_param(w) for w in init]
    opt_a = optim.Adam(0.1, amsgrad=True)
    for g in grads[:3]:
        opt_a.apply_gradients(zip(g, a))
    b = [_param(p.data.copy()) for p in a]
    opt_b = optim.Adam(0.1, amsgrad=True)
    opt_b.build(b)
    opt_b.set_state(opt_a.get_state())
    assert opt_b.iterations == 3 and len(opt_a.get_state()) == 1 + 3 * 2
    for g in grads[3:]:
        opt_a.apply_gradients(zip(g, a))
        opt_b.apply_gradients(zip(g, b))
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.data, q.data)


def test_set_state_validates():
    opt = optim.SGD(0.1, momentum=0.9)
    with pytest.raises(ValueError, match="not built"):
        opt.set_state([np.array(0)])
    opt.build([_param([1.0, 2.0])])
    with pytest.raises(ValueError, match="expected 2"):
        opt.set_state([np.array(0)])
    with pytest.raises(ValueError, match="shape"):
        opt.set_state([np.array(0), np.zeros(3)])


@pytest.mark.parametrize("opt", [
    optim.SGD(0.2, momentum=0.5, nesterov=True, clipnorm=1.0),
    optim.Adam(0.01, beta_1=0.8, amsgrad=True, global_clipnorm=2.0),
    optim.AdamW(0.01, weight_decay=0.1),
    optim.RMSprop(optim.ExponentialDecay(0.1, 100, 0.9), centered=True, clipvalue=0.5),
], ids=lambda o: type(o).__name__)
def test_config_round_trip(opt):
    clone = type(opt).from_config(opt.get_config())
    assert clone.get_config() == opt.get_config()


def test_get_by_name_and_typo():
    assert isinstance(optim.get("Adam"), optim.Adam) and isinstance(optim.get("sgd"), optim.SGD)
    assert isinstance(optim.get("rmsprop"), optim.RMSprop)
    assert optim.get("adamw").weight_decay == 0.004
    opt = optim.SGD()
    assert optim.get(opt) is opt
    with pytest.raises(ValueError, match="Did you mean 'adam'.*Valid names"):
        optim.get("adma")


def test_keras_defaults():
    sgd, adam, rms = optim.SGD(), optim.Adam(), optim.RMSprop()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == \
        (0.001, 0.9, 0.999, 1e-7, False)
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == \
        (0.001, 0.9, 0.0, 1e-7, False)


# ---- bad input ----


def test_apply_gradients_errors_and_warnings(backend):
    a, b = _param([1.0]), _param([2.0])
    opt = optim.SGD(0.1)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(np.array([1.0]), a), (None, b)])
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, a)])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(np.array([1.0]), _param([0.0]))])
    with pytest.raises(ValueError, match=r"gradient of shape \(2,\)"):
        opt.apply_gradients([(np.array([1.0, 2.0]), a)])
    with pytest.raises(TypeError, match="float32 or float64"):
        optim.SGD().build([Tensor(np.array([1, 2]))])


@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD(momentum=1.5), "momentum"),
    (lambda: optim.SGD("fast"), "learning_rate"),
    (lambda: optim.SGD([_param([1.0])]), "params="),
    (lambda: optim.Adam(beta_1=1.0), "beta_1"),
    (lambda: optim.RMSprop(rho=-0.1), "rho"),
    (lambda: optim.AdamW(weight_decay=None), "weight_decay"),
    (lambda: optim.SGD(clipnorm=0.0), "clipnorm"),
])
def test_bad_hyper_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_step_needs_parameters():
    with pytest.raises(ValueError, match="params"):
        optim.SGD().step()
