"""Update rules (xmlp.optim): hand-computed steps, purity, Adam against torch.optim.Adam,
and Adam's state through checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xmlp
from xmlp import optim
from xmlp.epochs import epoch_order

NP = xmlp.backend.resolve("numpy").xp


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return ([rng.normal(size=(3, 2)), rng.normal(size=(2, 1))],
            [rng.normal(size=2), rng.normal(size=1)])


def test_sgd_step_by_hand_with_l2_and_l1():
    Ws, bs = _params()
    gWs, gbs = _params(1)  # (eta/m)-scaled gradients
    rule, decay = optim.SGD(), optim.Decay(lmbda=2.0, l1=0.5, n=10)
    eta = 0.3
    W2, b2, state = rule.step(Ws, bs, gWs, gbs, rule.init(Ws, bs, NP), eta, decay, NP)
    for W, g, new in zip(Ws, gWs, W2):
        want = (1 - eta * 2.0 / 10) * W - (g + eta * 0.5 / 10 * np.sign(W))
        np.testing.assert_allclose(new, want, rtol=1e-15)
    for b, g, new in zip(bs, gbs, b2):
        np.testing.assert_allclose(new, b - g, rtol=1e-15)
    assert state.t == 1


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_step_by_hand(nesterov):
    Ws, bs = _params()
    gWs, gbs = _params(1)
    rule, decay, eta, mu = optim.Momentum(0.7, nesterov), optim.Decay(1.0, 0.0, 5), 0.2, 0.7
    state = rule.init(Ws, bs, NP)
    for _ in range(2):  # the second step sees a non-zero velocity
        prev_v = state.arrays["vw"]
        new_W, _, state = rule.step(Ws, bs, gWs, gbs, state, eta, decay, NP)
        for W, g, v0, v, W_new in zip(Ws, gWs, prev_v, state.arrays["vw"], new_W):
            step = g + eta * 1.0 / 5 * W
            np.testing.assert_allclose(v, mu * v0 - step, rtol=1e-14)
            want = W + mu * v - step if nesterov else W + v
            np.testing.assert_allclose(W_new, want, rtol=1e-14)
        Ws = new_W


@pytest.mark.parametrize("form", optim.ADAM_FORMS)
def test_adam_steps_by_hand(form):
    Ws, bs = _params()
    rule = optim.Adam(0.8, 0.9, 1e-3, form)
    decay, eta = optim.Decay(lmbda=2.0, l1=0.0, n=4), 0.05
    state = rule.init(Ws, bs, NP)
    m = [np.zeros_like(W) for W in Ws]
    v = [np.zeros_like(W) for W in Ws]
    for t in (1, 2, 3):
        gWs, gbs = _params(t)
        new_W, _, state = rule.step(Ws, bs, gWs, gbs, state, eta, decay, NP)
        for l, (W, g) in enumerate(zip(Ws, gWs)):
            g = g + 2.0 / 4 * W
            m[l] = 0.8 * m[l] + 0.2 * g
            v[l] = 0.9 * v[l] + 0.1 * g * g
            if form == "algorithm1":
                want = W - eta * (m[l] / (1 - 0.8**t)) / (np.sqrt(v[l] / (1 - 0.9**t)) + 1e-3)
            else:
                rate = eta * math.sqrt(1 - 0.9**t) / (1 - 0.8**t)
                want = W - rate * m[l] / (np.sqrt(v[l]) + 1e-3)
            np.testing.assert_allclose(new_W[l], want, rtol=1e-13)
        assert state.t == t
        Ws = new_W


def test_steps_mutate_nothing():
    for rule in (optim.SGD(), optim.Momentum(0.5, True), optim.Adam()):
        Ws, bs = _params()
        gWs, gbs = _params(1)
        frozen = [a.copy() for a in Ws + bs + gWs + gbs]
        for a in Ws + bs + gWs + gbs:
            a.flags.writeable = False
        state = rule.init(Ws, bs, NP)
        rule.step(Ws, bs, gWs, gbs, state, 0.1, optim.Decay(1.0, 1.0, 3), NP)
        for a, b in zip(Ws + bs + gWs + gbs, frozen):
            np.testing.assert_array_equal(a, b)
        assert state.t == 0


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
    Ws0, bs0 = ([torch.tensor(np.asarray(a)) for a in arrs] for arrs in (net._W, net._b))
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
    for got, want in zip(net._W + net._b, params):
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
