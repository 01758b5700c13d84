"""Update rules (xmlp.optim): hand-computed steps, purity, Adam against torch.optim.Adam,
and Adam's state through checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xmlp
from xmlp import optim
from xmlp import step as steps
from xmlp.epochs import epoch_order
from xmlp.params import Params
from xmlp.regulariser import Regulariser, add_gradient

NP = xmlp.backend.resolve("numpy").xp


def _params(seed=0) -> Params:
    rng = np.random.default_rng(seed)
    return Params((rng.normal(size=(3, 2)), rng.normal(size=(2, 1))),
                  (rng.normal(size=2), rng.normal(size=1)))


def _update(rule, params, grads, state, eta, t, reg=None, n=1):
    """One update as the training step makes it from (already scaled) gradients: the step's
    host numbers, the regulariser's gradient added, the rule's arithmetic."""
    numbers = steps.numbers(rule, reg or Regulariser(), eta, t, 1.0, n)
    grads = add_gradient(grads, params, numbers.decay, NP)
    return rule.update(params, grads, state, numbers.rule, NP)


def test_sgd_step_by_hand_with_l2_and_l1():
    P, G = _params(), _params(1)  # G: (eta/m)-scaled gradients
    rule, eta = optim.SGD(), 0.3
    new, state = _update(rule, P, G, rule.init(P, NP), eta, 1, Regulariser(2.0, 0.5), n=10)
    for W, g, W_new in zip(P.W, G.W, new.W):  # network2's form, to the bit
        want = (1 - eta * 2.0 / 10) * W - (g + eta * 0.5 / 10 * np.sign(W))
        np.testing.assert_array_equal(W_new, want)
    for b, g, b_new in zip(P.b, G.b, new.b):
        np.testing.assert_allclose(b_new, b - g, rtol=1e-15)
    assert state == optim.SGDState()


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_step_by_hand(nesterov):
    P, G = _params(), _params(1)
    rule, eta, mu = optim.Momentum(0.7, nesterov), 0.2, 0.7
    state = rule.init(P, NP)
    assert isinstance(state, optim.MomentumState)
    for _ in range(2):  # the second step sees a non-zero velocity
        prev_v = state.velocity.W
        new, state = _update(rule, P, G, state, eta, 1, Regulariser(1.0), n=5)
        for W, g, v0, v, W_new in zip(P.W, G.W, prev_v, state.velocity.W, new.W):
            step = g + eta * 1.0 / 5 * W
            np.testing.assert_allclose(v, mu * v0 - step, rtol=1e-14)
            want = W + mu * v - step if nesterov else W + v
            np.testing.assert_allclose(W_new, want, rtol=1e-14)
        P = new


@pytest.mark.parametrize("form", optim.ADAM_FORMS)
def test_adam_steps_by_hand(form):
    P = _params()
    rule, eta = optim.Adam(0.8, 0.9, 1e-3, form), 0.05
    state = rule.init(P, NP)
    m = [np.zeros_like(W) for W in P.W]
    v = [np.zeros_like(W) for W in P.W]
    for t in (1, 2, 3):
        G = _params(t)
        new, state = _update(rule, P, G, state, eta, t, Regulariser(2.0), n=4)
        for l, (W, g) in enumerate(zip(P.W, G.W)):
            g = g + 2.0 / 4 * W
            m[l] = 0.8 * m[l] + 0.2 * g
            v[l] = 0.9 * v[l] + 0.1 * g * g
            if form == "algorithm1":
                want = W - eta * (m[l] / (1 - 0.8**t)) / (np.sqrt(v[l] / (1 - 0.9**t)) + 1e-3)
            else:
                rate = eta * math.sqrt(1 - 0.9**t) / (1 - 0.8**t)
                want = W - rate * m[l] / (np.sqrt(v[l]) + 1e-3)
            np.testing.assert_allclose(new.W[l], want, rtol=1e-13)
            np.testing.assert_allclose(state.moment1.W[l], m[l], rtol=1e-14)
        P = new


def test_steps_mutate_nothing():
    for rule in (optim.SGD(), optim.Momentum(0.5, True), optim.Adam()):
        P, G = _params(), _params(1)
        frozen = [a.copy() for a in (*P.W, *P.b, *G.W, *G.b)]
        for a in (*P.W, *P.b, *G.W, *G.b):
            a.flags.writeable = False
        state = rule.init(P, NP)
        _update(rule, P, G, state, 0.1, 1, Regulariser(1.0, 1.0), n=3)
        for a, b in zip((*P.W, *P.b, *G.W, *G.b), frozen):
            np.testing.assert_array_equal(a, b)
        assert all(np.all(a == 0) for part in state for a in (*part.W, *part.b))


def test_make_and_bad_settings():
    assert optim.make("sgd") == optim.SGD()
    assert optim.make("sgd", momentum=0.5, nesterov=True) == optim.Momentum(0.5, True)
    assert optim.make("adam", beta1=0.5) == optim.Adam(0.5)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        optim.make("rmsprop")
    with pytest.raises(ValueError, match="beta1"):
        optim.make("adam", momentum=0.9)
    with pytest.raises(ValueError, match="beta2 must be in"):
        optim.Adam(beta2=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        optim.Adam(epsilon=0.0)
    with pytest.raises(ValueError, match="form"):
        optim.Adam(form="sklearn")


def test_fit_rejects_bad_adam_settings():
    net = xmlp.Network([4, 3, 2], seed=0)
    X, y = np.zeros((5, 4)), np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match="beta1 must be in"):
        net.fit(X, y, epochs=1, optimizer="adam", beta1=1.5)
    with pytest.raises(ValueError, match="unknown optimizer"):
        net.fit(X, y, epochs=1, optimizer="Adamw")


def test_adam_equals_torch_optim_adam():
    """Same initial weights, same batch order, L2 as torch's weight decay on the weights."""
    torch = pytest.importorskip("torch")
    data = xmlp.datasets.load("mnist-sample", dtype="float64")
    X, y = data.train.X[:500], data.train.y[:500]
    n, m, eta, lmbda = 500, 25, 0.003, 2.0
    net = xmlp.Network([784, 20, 10], cost="cross-entropy", dtype="float64", seed=4)
    Ws0, bs0 = ([torch.tensor(np.asarray(a)) for a in arrs] for arrs in net.params)
    order_rng = np.random.default_rng()
    order_rng.bit_generator.state = net.rng.bit_generator.state
    net.fit(X, y, epochs=2, batch_size=m, eta=eta, lmbda=lmbda, optimizer="adam", monitor=())

    params = [p.clone().requires_grad_(True) for p in Ws0 + bs0]
    weights, biases = params[:2], params[2:]
    opt = torch.optim.Adam([{"params": weights, "weight_decay": lmbda / n},
                            {"params": biases, "weight_decay": 0.0}], lr=eta,
                           betas=(0.9, 0.999), eps=1e-8)
    Xt, Yt = torch.tensor(X), torch.nn.functional.one_hot(torch.tensor(y), 10).double()
    for _ in range(2):
        order = torch.tensor(epoch_order(order_rng, n))
        for k in range(0, n, m):
            idx = order[k:k + m]
            a = torch.sigmoid(Xt[idx] @ weights[0] + biases[0])
            z = a @ weights[1] + biases[1]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                z, Yt[idx], reduction="sum") / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
    for got, want in zip((*net.params.W, *net.params.b), params):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=1e-12)


def test_adam_checkpoint_resume_equals_a_straight_run(tmp_path):
    data = xmlp.datasets.load("mnist-sample", dtype="float64")
    X, y = data.train.X[:400], data.train.y[:400]
    kw = dict(batch_size=10, eta=0.002, lmbda=1.0, optimizer="adam", beta2=0.99,
              dropout=0.1, monitor=())
    straight = xmlp.Network([784, 16, 10], cost="cross-entropy", dtype="float64", seed=2)
    straight.fit(X, y, epochs=3, **kw)
    ckpt = tmp_path / "adam.ckpt"
    first = xmlp.Network([784, 16, 10], cost="cross-entropy", dtype="float64", seed=2)
    first.fit(X, y, epochs=1, checkpoint=ckpt, **kw)
    resumed = xmlp.Network([784, 16, 10], cost="cross-entropy", dtype="float64", seed=2)
    resumed.fit(X, y, epochs=3, resume=ckpt, **kw)
    for got, want in zip(sum(resumed.parameters_numpy(), []),
                         sum(straight.parameters_numpy(), [])):
        np.testing.assert_array_equal(got, want)
    with np.load(ckpt) as f:
        assert {"mw0", "mb0", "sw1", "sb1"} <= set(f.files)
    other = xmlp.Network([784, 16, 10], cost="cross-entropy", dtype="float64", seed=2)
    with pytest.raises(ValueError, match="optimizer: .adam. -> None"):
        other.fit(X, y, epochs=3, resume=ckpt, **{**kw, "optimizer": "sgd", "eta": 0.002})
