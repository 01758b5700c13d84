"""Softmax output with the log-likelihood cost on 11x11 downsampled digits, 20 hidden neurons
==========================================================================================

Each 28x28 image loses its 3-pixel blank border and is averaged over 2x2 blocks
(``xmlp.datasets.downsample``: 28x28 -> 22x22 -> 11x11), so the network is [121, 20, 10]:
about 2 700 parameters instead of 24 000.  The softmax layer's outputs are a probability
distribution over the ten digits (chapter 3).

From the command line::

    python examples/softmax_downsampled.py --backend torch --plot

``--plot`` draws the 20 hidden neurons' input weights as 11x11 images and the softmax
layer's probabilities for the first test digits.
"""

# sphinx_gallery_multi_image = "single"

import argparse
import time

import numpy as np

import xmlp
from xmlp.datasets import downsample


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--eta", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", action="store_true",
                        help="show the hidden weights and the output probabilities")
    args = parser.parse_args()

    data = xmlp.datasets.load("mnist-sample")
    X_train, shape = downsample(data.train.X, fold=2)
    X_test, _ = downsample(data.test.X, fold=2)
    print(f"images downsampled from {data.image_shape} to {shape}: "
          f"{X_train.shape[1]} inputs per image")

    net = xmlp.Network([X_train.shape[1], 20, 10], cost="log-likelihood", output="softmax",
                       init="normalized", backend=args.backend, device=args.device,
                       seed=args.seed)
    start = time.perf_counter()
    history = net.fit(X_train, data.train.y, epochs=args.epochs, batch_size=10, eta=args.eta,
                      evaluation_data=(X_test, data.test.y))
    seconds = time.perf_counter() - start
    best = int(np.argmax(history.evaluation_accuracy))
    print(f"test accuracy {100 * history.evaluation_accuracy[-1]:.2f}% after {args.epochs} "
          f"epochs (best {100 * history.evaluation_accuracy[best]:.2f}% in epoch {best + 1}), "
          f"{seconds:.1f} s on {args.backend}")

    proba = xmlp.to_numpy(net.feedforward(X_test[:1]))[0]
    top = np.argsort(proba)[::-1][:3]
    print(f"first test image (a {data.test.y[0]}): "
          + ", ".join(f"P({k}) = {proba[k]:.3f}" for k in top)
          + f"; the probabilities sum to {proba.sum():.4f}")
    if args.plot:
        plot(net, X_test, data.test.y, shape)


def plot(net, X, y, shape):
    """Hidden neurons' input weights as images; output probabilities of a few digits."""
    import matplotlib.pyplot as plt

    W = xmlp.to_numpy(net.weights[0])  # (20, 121)
    fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
    for w, ax in zip(W, axes.flat):
        limit = np.abs(w).max()
        ax.imshow(w.reshape(shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_axis_off()
    fig.suptitle("input weights of the 20 hidden neurons (11x11)")

    proba = xmlp.to_numpy(net.feedforward(X[:6]))
    fig, axes = plt.subplots(2, 6, figsize=(10, 3.6), height_ratios=[1, 1])
    for k in range(6):
        axes[0, k].imshow(X[k].reshape(shape), cmap="gray_r")
        axes[0, k].set_axis_off()
        axes[0, k].set_title(f"label {y[k]}", fontsize=9)
        axes[1, k].bar(range(10), proba[k])
        axes[1, k].set_xticks(range(10))
        axes[1, k].tick_params(labelsize=7)
        axes[1, k].set_ylim(0, 1)
    fig.suptitle("softmax outputs: a probability for each digit")
    fig.tight_layout()
    plt.show()


if __name__ == "__main__":
    main()
