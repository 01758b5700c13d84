"""Chapter 1: network.py's [784, 30, 10] sigmoid network with the quadratic cost
=============================================================================

The book's code, through ``xmlp.nielsen.Network``, fed the book's data format: a list of
``(x, y)`` pairs with ``x`` a (784, 1) column of pixels and ``y`` a (10, 1) one-hot column for
training, and ``(x, label)`` with an integer label for testing -- what Nielsen's
``mnist_loader.load_data_wrapper`` returns.  Runs on the embedded MNIST sample (4000 training /
1000 test images), so it works offline; the book trains on 50 000 images and reaches ~95%.

From the command line::

    python examples/network_ch1.py --backend numpy --plot

``--plot`` draws what the 30 hidden neurons learned (each one's 784 input weights as a
28x28 image: red positive, blue negative) and the test images the network gets wrong.
"""

# sphinx_gallery_multi_image = "single"

import argparse
import time

import numpy as np

from xmlp import datasets
from xmlp.nielsen import Network, book_data


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", action="store_true",
                        help="show the hidden neurons' weights and misclassified digits")
    args = parser.parse_args()

    data = datasets.load("mnist-sample", dtype="float64")
    training_data = book_data(*data.train, one_hot=True)
    test_data = book_data(*data.test, one_hot=False)

    net = Network([784, 30, 10], backend=args.backend, device=args.device, seed=args.seed)
    start = time.perf_counter()
    net.SGD(training_data, args.epochs, 10, 3.0, test_data=test_data)  # prints Epoch j: c / n
    n_correct = net.evaluate(test_data)
    print(f"{n_correct} / {len(test_data)} test images correct "
          f"({100 * n_correct / len(test_data):.1f}%) after {args.epochs} epochs, "
          f"{time.perf_counter() - start:.1f} s on {args.backend}")
    first = np.argmax(net.feedforward(test_data[0][0]))
    print(f"the first test image is a {test_data[0][1]}; the network says {first}")
    if args.plot:
        plot(net, test_data)


def plot(net, test_data):
    """The hidden neurons' input weights as images, and misclassified test digits."""
    import matplotlib.pyplot as plt

    W = net.weights[0]  # (30, 784): one row of input weights per hidden neuron
    fig, axes = plt.subplots(3, 10, figsize=(10, 3.4))
    for w, ax in zip(W, axes.flat):
        limit = np.abs(w).max()
        ax.imshow(w.reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_axis_off()
    fig.suptitle("input weights of the 30 hidden neurons")

    wrong = [(x, label, int(np.argmax(net.feedforward(x)))) for x, label in test_data]
    wrong = [(x, label, guess) for x, label, guess in wrong if guess != label][:16]
    fig, axes = plt.subplots(2, 8, figsize=(10, 3.2))
    for ax in axes.flat:
        ax.set_axis_off()
    for (x, label, guess), ax in zip(wrong, axes.flat):
        ax.imshow(x.reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{label} -> {guess}", fontsize=9)
    fig.suptitle("misclassified test digits (label -> network's answer)")
    plt.show()


if __name__ == "__main__":
    main()
