"""The minigrad pieces behind minigrad.sklearn: VelocitySGD, AdamEpsHat, InverseScalingLR, the output
losses, L2Penalty and NoImprovementStopping, each against its formula (no scikit-learn needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from finite_differences import central_difference

import minigrad as mg
from minigrad.optim import AdamEpsHat, InverseScalingLR, VelocitySGD


def _params(rng: np.random.Generator) -> list[mg.Parameter]:
    return [mg.Parameter(rng.normal(size=(3, 4))), mg.Parameter(rng.normal(size=4))]


@pytest.mark.parametrize("nesterov", [False, True])
def test_velocity_sgd_follows_its_formula_with_a_changing_learning_rate(nesterov: bool) -> None:
    rng = np.random.default_rng(0)
    params = _params(rng)
    ref = [p.data.copy() for p in params]
    vel = [np.zeros_like(r) for r in ref]
    opt = VelocitySGD(params, lr=0.1, momentum=0.8, nesterov=nesterov)
    for step in range(6):
        lr = 0.1 / (step + 1)
        opt.lr = lr
        grads = [rng.normal(size=p.shape) for p in params]
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
        for i, g in enumerate(grads):
            vel[i] = 0.8 * vel[i] - lr * g
            ref[i] = ref[i] + (0.8 * vel[i] - lr * g if nesterov else vel[i])
    for p, r in zip(params, ref, strict=True):
        np.testing.assert_array_equal(p.data, r)  # the same operations in the same order: the same bits


def test_velocity_sgd_checks_its_arguments_and_saves_its_state() -> None:
    p = mg.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="momentum"):
        VelocitySGD([p], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="learning rate"):
        VelocitySGD([p], lr=-1.0)
    opt = VelocitySGD([p], lr=0.1)
    p.grad = np.ones(2)
    opt.step()
    state = opt.state_dict()
    again = VelocitySGD([mg.Parameter(np.ones(2))], lr=0.5)
    again.load_state_dict(state)
    assert again.lr == 0.1 and again.nesterov
    np.testing.assert_array_equal(again.state[0]["velocity"], [-0.1, -0.1])  # type: ignore[arg-type]


def test_adam_eps_hat_follows_its_formula_and_differs_from_adam_only_by_eps() -> None:
    rng = np.random.default_rng(1)
    params = _params(rng)
    twins = [mg.Parameter(p.data.copy()) for p in params]
    ref = [p.data.copy() for p in params]
    m = [np.zeros_like(r) for r in ref]
    v = [np.zeros_like(r) for r in ref]
    opt = AdamEpsHat(params, lr=0.01, betas=(0.8, 0.99), eps=1e-3)
    torch_like = mg.Adam(twins, lr=0.01, betas=(0.8, 0.99), eps=0.0)
    eps_hat = AdamEpsHat(twins, lr=0.01, betas=(0.8, 0.99), eps=1e-300)
    for t in range(1, 6):
        grads = [rng.normal(size=p.shape) for p in params]
        for p, q, g in zip(params, twins, grads, strict=True):
            p.grad = g
            q.grad = g
        opt.step()
        (torch_like if t % 2 else eps_hat).step()  # with ε = 0 both are the same rule, up to rounding
        for i, g in enumerate(grads):
            m[i] = 0.8 * m[i] + (1 - 0.8) * g
            v[i] = 0.99 * v[i] + (1 - 0.99) * (g * g)
            step = 0.01 * math.sqrt(1 - 0.99**t) / (1 - 0.8**t)
            ref[i] = ref[i] + (m[i] * -step) / (np.sqrt(v[i]) + 1e-3)
    for p, r in zip(params, ref, strict=True):
        np.testing.assert_array_equal(p.data, r)
    assert eps_hat.state[0]["step"] == 2
    with pytest.raises(ValueError, match="epsilon"):
        AdamEpsHat(params, eps=0.0)


def test_adam_eps_hat_with_zero_eps_is_adam() -> None:
    rng = np.random.default_rng(2)
    a, b = _params(rng), _params(np.random.default_rng(2))
    opt_a, opt_b = AdamEpsHat(a, lr=0.05, eps=1e-300), mg.Adam(b, lr=0.05, eps=0.0)
    for _ in range(5):
        grads = [rng.normal(size=p.shape) for p in a]
        for p, q, g in zip(a, b, grads, strict=True):
            p.grad, q.grad = g, g
        opt_a.step()
        opt_b.step()
    for p, q in zip(a, b, strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13)


def test_inverse_scaling_lr_counts_samples_and_saves_its_state() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=0.2)
    sched = InverseScalingLR(opt, power_t=0.25, increment=10, count=5)
    lrs = []
    for _ in range(3):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == [0.2 / (c + 1) ** 0.25 for c in (15, 25, 35)]
    state = sched.state_dict()
    other = InverseScalingLR(mg.SGD([mg.Parameter(np.zeros(1))], lr=0.2))
    other.load_state_dict(state)
    assert other.count == 35 and other.increment == 10 and other.last_epoch == 3
    with pytest.raises(ValueError, match="increment"):
        InverseScalingLR(opt, increment=-1)
    with pytest.raises(ValueError, match="power_t"):
        InverseScalingLR(opt, power_t=-1.0)


def _one_hot(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return np.eye(c)[rng.integers(0, c, size=n)]


@pytest.mark.parametrize("loss_cls", [mg.SoftmaxLogLoss, mg.SigmoidLogLoss, mg.HalfSquaredLoss, mg.HalfPoissonLoss])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_output_losses_backward_is_the_gradient(loss_cls: type[mg.Loss], reduction: str) -> None:
    rng = np.random.default_rng(3)
    n, c = 7, 1 if loss_cls is mg.HalfSquaredLoss else 3  # HalfSquaredLoss: exact for one output only
    z = rng.normal(size=(n, c))
    if loss_cls is mg.SoftmaxLogLoss:
        t = _one_hot(rng, n, c)
    elif loss_cls is mg.SigmoidLogLoss:
        t = rng.integers(0, 2, size=(n, c)).astype(float)
    elif loss_cls is mg.HalfPoissonLoss:
        t = rng.integers(0, 4, size=(n, c)).astype(float)
    else:
        t = rng.normal(size=(n, c))
    loss_fn = loss_cls(reduction=reduction)  # type: ignore[call-arg]
    loss_fn(z, t)
    grad = loss_fn.backward()
    numeric = central_difference(lambda: loss_fn(z, t), z)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_output_losses_values_follow_their_formulas() -> None:
    z = np.array([[0.0, np.log(3.0)], [2.0, -1.0]])
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert mg.SoftmaxLogLoss()(z, t) == pytest.approx(-(np.log(p[0, 1]) + np.log(p[1, 0])) / 2, rel=1e-15)
    s = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(s) + (1 - t) * np.log(1 - s)).mean(axis=0).sum()
    assert mg.SigmoidLogLoss()(z, t) == pytest.approx(expected, rel=1e-15)
    assert mg.HalfSquaredLoss()(z, t) == pytest.approx(0.5 * ((z - t) ** 2).mean(), rel=1e-15)
    # confident and wrong: the probability is clipped to the machine epsilon, the loss stays finite
    assert mg.SoftmaxLogLoss()(np.array([[0.0, 1000.0]]), np.array([[1.0, 0.0]])) == pytest.approx(
        -np.log(np.finfo(float).eps)
    )
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        mg.SoftmaxLogLoss()(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="do not broadcast"):
        mg.SigmoidLogLoss()(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(RuntimeError, match="before"):
        mg.HalfPoissonLoss().backward()


def test_l2_penalty_adds_alpha_over_batch_size() -> None:
    rng = np.random.default_rng(4)
    model = mg.Sequential(mg.Linear(3, 4, rng=0), mg.Tanh(), mg.Linear(4, 2, rng=1))
    weights = [model[0].weight, model[2].weight]  # type: ignore[union-attr]
    loss_fn = mg.L2Penalty(mg.SoftmaxLogLoss(), weights, alpha=0.3)
    X, t = rng.normal(size=(5, 3)), _one_hot(rng, 5, 2)
    value = loss_fn(model(X), t)
    plain = mg.SoftmaxLogLoss()(model(X), t)
    assert value == pytest.approx(plain + 0.15 * sum(float((w.data**2).sum()) for w in weights) / 5, rel=1e-14)
    model.zero_grad()
    model.backward(loss_fn.backward(), need_input_grad=False)
    for w in weights:
        numeric = central_difference(lambda: loss_fn(model(X), t), w.data)
        np.testing.assert_allclose(w.grad, numeric, rtol=1e-6, atol=1e-9)
    unpenalised = mg.L2Penalty(mg.MSELoss(), [model[0].weight], alpha=0.0)  # type: ignore[union-attr]
    assert unpenalised(np.ones((2, 1)), np.zeros((2, 1))) == 1.0
    np.testing.assert_array_equal(unpenalised.backward(), [[1.0], [1.0]])
    assert "alpha=0.3" in repr(loss_fn)


def test_l2_penalty_refuses_what_it_cannot_wrap() -> None:
    w = mg.Parameter(np.ones((2, 2)))
    with pytest.raises(TypeError, match="Loss"):
        mg.L2Penalty(lambda p, t: 0.0, [w], 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mean"):
        mg.L2Penalty(mg.MSELoss(reduction="sum"), [w], 0.1)
    with pytest.raises(ValueError, match="targets shaped like"):
        mg.L2Penalty(mg.CrossEntropyLoss(), [w], 0.1)
    with pytest.raises(TypeError, match="Parameters"):
        mg.L2Penalty(mg.MSELoss(), [np.ones(2)], 0.1)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="alpha"):
        mg.L2Penalty(mg.MSELoss(), [w], -1.0)
    model = mg.Linear(2, 1, rng=0)
    bce = mg.L2Penalty(mg.BCEWithLogitsLoss(), [model.weight], 0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):  # the wrapped loss's target check, before any update
        mg.fit(model, np.ones((3, 2)), np.array([0.0, 1.0, 2.0]), loss=bce, optimizer=mg.SGD(model, lr=0.1), epochs=1)


def test_no_improvement_stopping_min_mode_and_adaptive_learning_rate() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1e-5)
    stop = mg.NoImprovementStopping(tol=0.5, n_iter_no_change=1, optimizer=opt)
    answers = [stop.on_epoch_end(e, {"loss": v}) for e, v in enumerate([5.0, 4.9, 4.8, 4.7, 4.6, 4.5, 4.4], 1)]
    # epochs 2 and 3 are bad: lr / 5 and a new count; 4 and 5: lr / 5 again (2e-7 <= 1e-6); 6 and 7: stop
    assert answers == [False, False, False, False, False, False, True]
    assert opt.lr == pytest.approx(1e-5 / 25) and stop.stopped_epoch == 7 and stop.best == 4.4
    nan_stop = mg.NoImprovementStopping(n_iter_no_change=1)
    assert [nan_stop.on_epoch_end(e, {"loss": math.nan}) for e in (1, 2, 3)] == [False, False, False]
    with pytest.raises(KeyError, match="val_loss"):
        mg.NoImprovementStopping(monitor="val_loss").on_epoch_end(1, {"loss": 1.0})


def test_no_improvement_stopping_max_mode_restores_the_best_parameters() -> None:
    model = mg.Linear(1, 1, rng=0)
    scores = iter([0.5, 0.9, 0.8, 0.7, 0.6])
    stop = mg.NoImprovementStopping(
        monitor=lambda: next(scores), mode="max", tol=0.01, n_iter_no_change=2, restore_best_weights=True
    )
    states: list[dict[str, np.ndarray]] = []
    X, y = np.array([[1.0], [2.0]]), np.array([1.0, 3.0])
    history = mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.01),
        epochs=10,
        callbacks=[lambda epoch, logs: states.append(model.state_dict()), stop],
    )
    assert history.stop_reason == "callback" and history.epochs == 5 and stop.best == 0.9
    for k, v in model.state_dict().items():  # put back as it was after epoch 2, the best
        np.testing.assert_array_equal(v, states[1][k])
        assert not np.array_equal(v, states[-1][k])
    stop.reset()
    assert stop.best == -math.inf and stop.count == 0
    mg.NoImprovementStopping().restore_best()  # before training: no model, nothing to do


def test_no_improvement_stopping_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="monitor"):
        mg.NoImprovementStopping(monitor=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        mg.NoImprovementStopping(mode="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_iter_no_change"):
        mg.NoImprovementStopping(n_iter_no_change=0)
    with pytest.raises(TypeError, match="Optimizer"):
        mg.NoImprovementStopping(optimizer="sgd")  # type: ignore[arg-type]
    assert "n_iter_no_change=inf" in repr(mg.NoImprovementStopping(n_iter_no_change=math.inf))


def test_adam_eps_hat_moments_side_by_side_survive_a_restored_or_loaded_state() -> None:
    rng = np.random.default_rng(5)
    a, b = _params(rng), _params(np.random.default_rng(5))
    flat, each = AdamEpsHat(a, lr=0.05), AdamEpsHat(b, lr=0.05)
    grads = [[rng.normal(size=p.shape) for p in a] for _ in range(6)]

    def step(opt: AdamEpsHat, params: list[mg.Parameter], gs: list[np.ndarray], one_by_one: bool) -> None:
        for p, g in zip(params, gs, strict=True):
            p.grad = g
        opt._step_each() if one_by_one else opt.step()

    for k in range(3):
        step(flat, a, grads[k], False)
        step(each, b, grads[k], True)
    saved = flat.copy_state()
    step(flat, a, grads[3], False)
    flat.set_state(saved)  # what fit does to undo a step: the views are replaced by copies
    for p, q in zip(a, b, strict=True):
        p.data[...] = q.data
    other = AdamEpsHat(a, lr=0.05)
    other.load_state_dict(flat.state_dict())
    for k in range(3, 6):
        step(other, a, grads[k], False)
        step(each, b, grads[k], True)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p.data, q.data)  # side by side or one by one: the same bits
    assert other.state[0]["step"] == 6
    mixed = [mg.Parameter(np.ones(2)), mg.Parameter(np.ones(2, dtype=np.float32))]
    opt = AdamEpsHat(mixed, lr=0.1)
    for p in mixed:
        p.grad = np.ones(2)
    opt.step()  # two dtypes: one by one
    assert mixed[1].data.dtype == np.float32 and opt.state[1]["step"] == 1
    opt.state[1]["step"] = 5
    mixed[1].data = mixed[1].data.astype(np.float64)
    opt.step()  # different step counts: one by one
    assert opt.state[0]["step"] == 2 and opt.state[1]["step"] == 6
