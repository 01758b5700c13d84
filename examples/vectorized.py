"""The fully matrix-based mini-batch version: ``xmlp.Network(...).fit`` on (n, 784) arrays
=======================================================================================

The book's chapter-2 exercise, done: a whole mini-batch goes through backpropagation as one
matrix product per layer (Z = A @ W + b) instead of a Python loop over examples.  Cross-entropy
cost, network2's normalized initialisation, eta = 0.5, on any backend.

From the command line::

    python examples/vectorized.py --backend array_api_strict --plot

``--plot`` draws the learning curves from the returned ``History`` and the test digits
the trained network gets wrong.
"""

# sphinx_gallery_multi_image = "single"

import argparse
import time

import numpy as np

import xmlp


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", action="store_true",
                        help="show the learning curves and misclassified digits")
    args = parser.parse_args()

    data = xmlp.datasets.load("mnist-sample", dtype=args.dtype)
    net = xmlp.Network([784, 30, 10], cost="cross-entropy", init="normalized",
                       backend=args.backend, device=args.device, dtype=args.dtype,
                       seed=args.seed)
    print(net)

    def report(epoch, history):
        print(f"epoch {epoch + 1:>2}: training cost {history.training_cost[-1]:.4f}, "
              f"test accuracy {100 * history.evaluation_accuracy[-1]:.2f}% "
              f"({history.seconds[-1]:.2f} s)")

    start = time.perf_counter()
    history = net.fit(*data.train, epochs=args.epochs, batch_size=args.batch_size, eta=0.5,
                      evaluation_data=data.test, callback=report)
    seconds = time.perf_counter() - start
    samples_per_s = args.epochs * history.n_train / sum(history.seconds)
    print(f"test accuracy {100 * net.accuracy(*data.test):.2f}% after {args.epochs} epochs, "
          f"{seconds:.1f} s ({samples_per_s:,.0f} training samples/s) on {args.backend}")
    labels = xmlp.to_numpy(net.predict(data.test.X[:10]))
    print(f"first ten test labels {data.test.y[:10].tolist()}, predicted {labels.tolist()}")
    if args.plot:
        plot(history, data.test.X, data.test.y, xmlp.to_numpy(net.predict(data.test.X)))


def plot(history, X, y, predicted):
    """Learning curves from the History, and the misclassified test digits."""
    import matplotlib.pyplot as plt

    epochs = np.arange(1, history.epochs + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, history.training_cost, "o-")
    left.set(xlabel="epoch", ylabel="training cost", title="training cost (cross-entropy)")
    right.plot(epochs, 100 * np.asarray(history.evaluation_accuracy), "o-")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="test accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()

    wrong = np.flatnonzero(predicted != y)[:24]
    fig, axes = plt.subplots(3, 8, figsize=(10, 4.2))
    for ax in axes.flat:
        ax.set_axis_off()
    for i, ax in zip(wrong, axes.flat):
        ax.imshow(X[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{y[i]} -> {predicted[i]}", fontsize=9)
    fig.suptitle(f"{len(np.flatnonzero(predicted != y))} of {len(y)} test digits "
                 "misclassified (label -> prediction); the first 24")
    plt.show()


if __name__ == "__main__":
    main()
