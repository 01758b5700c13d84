"""Softmax output with the log-likelihood cost on 11x11 downsampled digits, 20 hidden neurons.

Each 28x28 image loses its 3-pixel blank border and is averaged over 2x2 blocks
(``xmlp.datasets.downsample``: 28x28 -> 22x22 -> 11x11), so the network is [121, 20, 10]:
about 2 700 parameters instead of 24 000.  The softmax layer's outputs are a probability
distribution over the ten digits (chapter 3).

    python examples/softmax_downsampled.py --backend torch
"""

import argparse
import time

import numpy as np

import xmlp
from xmlp.datasets import downsample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--eta", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
