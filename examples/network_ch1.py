"""Chapter 1: network.py's [784, 30, 10] sigmoid network with the quadratic cost.

The book's code, through ``xmlp.nielsen.Network``, fed the book's data format: a list of
``(x, y)`` pairs with ``x`` a (784, 1) column of pixels and ``y`` a (10, 1) one-hot column for
training, and ``(x, label)`` with an integer label for testing -- what Nielsen's
``mnist_loader.load_data_wrapper`` returns.  Runs on the embedded MNIST sample (4000 training /
1000 test images), so it works offline; the book trains on 50 000 images and reaches ~95%.

    python examples/network_ch1.py --backend numpy
"""

import argparse
import time

import numpy as np

from xmlp import datasets
from xmlp.nielsen import Network, book_data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
