"""Gradients against oracles that share no code with xmlp: PyTorch autograd (when torch is
installed) and central differences through fixed dropout masks."""

from __future__ import annotations

import numpy as np
import pytest

import xmlp
from xmlp import costs
from xmlp.network import backprop, forward

PAIRS = [("quadratic", "sigmoid"), ("quadratic", "softmax"), ("quadratic", "identity"),
         ("cross-entropy", "sigmoid"), ("log-likelihood", "softmax"), ("poisson", "exp")]


def _problem(seed=0, n=9, sizes=(5, 7, 6, 4)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    masks = [(rng.random((n, w)) >= 0.4) / 0.6 for w in sizes[1:-1]]
    return X, Y, masks


def _torch_loss(torch, Ws, bs, X, Y, hidden, output, cost, masks):
    """The summed cost written directly in torch (no xmlp code)."""
    F = torch.nn.functional
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
           "identity": lambda t: t}[hidden]
    a = X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W + b
        if l < len(Ws) - 1:
            a = act(z) * masks[l] if masks is not None else act(z)
    if cost == "cross-entropy":
        return F.binary_cross_entropy_with_logits(z, Y, reduction="sum")
    if cost == "log-likelihood":
        return -(Y * F.log_softmax(z, dim=1)).sum()
    if cost == "poisson":  # half the Poisson deviance, exp output
        return (torch.exp(z) - Y * z + torch.special.xlogy(Y, Y) - Y).sum()
    out = {"sigmoid": torch.sigmoid, "identity": lambda t: t,
           "softmax": lambda t: torch.softmax(t, dim=1)}[output](z)
    return 0.5 * ((out - Y) ** 2).sum()


@pytest.mark.parametrize("cost,output", PAIRS)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("dropout", [False, True])
def test_gradients_equal_torch_autograd(cost, output, hidden, dropout):
    torch = pytest.importorskip("torch", reason="the autograd oracle needs torch")
    X, Y, masks = _problem()
    masks = masks if dropout else None
    net = xmlp.Network([5, 7, 6, 4], hidden=hidden, output=output, cost=cost, seed=1,
                       dtype="float64")
    nW, nb = backprop(net.params, X, Y, net.hidden, net.output, net.cost, masks)
    tW = [torch.tensor(W, requires_grad=True) for W in net.params.W]
    tb = [torch.tensor(b, requires_grad=True) for b in net.params.b]
    tm = None if masks is None else [torch.tensor(m) for m in masks]
    loss = _torch_loss(torch, tW, tb, torch.tensor(X), torch.tensor(Y), hidden, output, cost,
                       tm)
    loss.backward()
    for ours, theirs in zip(nW + nb, [t.grad.numpy() for t in tW + tb]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cost,output", PAIRS)
def test_weighted_gradients_and_cost_equal_torch_autograd(cost, output):
    """backprop(weights=w, return_cost=True): the gradient and value of sum_x w_x C_x."""
    torch = pytest.importorskip("torch", reason="the autograd oracle needs torch")
    X, Y, _ = _problem(4)
    w = np.random.default_rng(5).uniform(0.0, 2.0, X.shape[0])
    net = xmlp.Network([5, 7, 6, 4], hidden="tanh", output=output, cost=cost, seed=6,
                       dtype="float64")
    (nW, nb), total = backprop(net.params, X, Y, net.hidden, net.output, net.cost,
                               scale=0.5, weights=w, return_cost=True)
    tW = [torch.tensor(W, requires_grad=True) for W in net.params.W]
    tb = [torch.tensor(b, requires_grad=True) for b in net.params.b]
    tw = torch.tensor(w)[:, None]
    # the weighted sum of per-example costs: weight each row's contribution
    loss = sum(_torch_loss(torch, tW, tb, torch.tensor(X[i:i + 1]), torch.tensor(Y[i:i + 1]),
                           "tanh", output, cost, None) * tw[i, 0] for i in range(len(X)))
    loss.backward()
    assert total.shape == () and abs(float(total) - loss.item()) <= 1e-12 * abs(loss.item())
    for ours, theirs in zip(nW + nb, [t.grad.numpy() for t in tW + tb]):
        np.testing.assert_allclose(ours, 0.5 * theirs, rtol=1e-12, atol=1e-13)


def test_poisson_cost_is_half_the_deviance():
    z = np.array([[-1.0, 0.5, 2.0], [0.0, 1.0, -3.0]])
    y = np.array([[0.0, 2.0, 7.0], [1.0, 0.0, 0.5]])
    mu = np.exp(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        y_ln = np.where(y > 0, y * np.log(y / mu), 0.0)
    want = np.sum(y_ln - y + mu, axis=1)  # half of 2 (y ln(y/mu) - y + mu)
    cost = costs.get("poisson")
    np.testing.assert_allclose(cost.fn(z, mu, y), want, rtol=1e-14)
    assert np.all(cost.fn(np.log(y + (y == 0)), y + (y == 0), y + (y == 0)) == 0)  # perfect fit


@pytest.mark.parametrize("cost,output", PAIRS)
def test_dropout_gradient_by_central_differences(cost, output):
    """With the masks held fixed, backprop is the exact gradient of the masked cost."""
    X, Y, masks = _problem(2)
    net = xmlp.Network([5, 7, 6, 4], hidden="tanh", output=output, cost=cost, seed=3,
                       dtype="float64")

    params = net.params.map(np.copy)  # perturbed in place below

    def cost_sum():
        _, Z, A = forward(params, X, net.hidden, net.output, masks)
        return float(np.sum(net.cost.fn(Z[-1], A[-1], Y)))

    nW, nb = backprop(params, X, Y, net.hidden, net.output, net.cost, masks)
    h = 1e-6
    for arrays, grads in ((params.W, nW), (params.b, nb)):
        for p, g in zip(arrays, grads):
            numeric = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                up = cost_sum()
                p[idx] = old - h
                down = cost_sum()
                p[idx] = old
                numeric[idx] = (up - down) / (2 * h)
            err = np.linalg.norm(numeric - g) / (np.linalg.norm(numeric) + np.linalg.norm(g))
            assert err <= 1e-7
