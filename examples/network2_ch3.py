"""Chapter 3: network2.py's cross-entropy network with L2 regularisation and monitoring
====================================================================================

``xmlp.nielsen.Network2`` takes network2's arguments: the cost class, ``lmbda``, evaluation
data and the four ``monitor_*`` flags, and returns network2's four lists.  The embedded
MNIST sample is split into 3000 training and 1000 validation images (the book: 50 000 and
10 000).  L2 strength: the book's lmbda = 5.0 for n = 50 000 is a weight decay of
lmbda / n = 1e-4 per example; lmbda = 0.5 on 3000 images is a similar 1.7e-4.

From the command line::

    python examples/network2_ch3.py --backend torch --plot

``--plot`` draws chapter 3's learning curves: the cost and the accuracy on the training
and validation data, epoch by epoch.
"""

# sphinx_gallery_multi_image = "single"

import argparse
import os
import tempfile
import time

from xmlp import datasets, nielsen
from xmlp.nielsen import CrossEntropyCost, Network2, book_data


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lmbda", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", action="store_true", help="show the learning curves")
    args = parser.parse_args()

    data = datasets.load("mnist-sample", validation=1000, dtype="float64")
    training_data = book_data(*data.train, one_hot=True)
    validation_data = book_data(*data.validation)

    net = Network2([784, 30, 10], cost=CrossEntropyCost, backend=args.backend,
                   device=args.device, seed=args.seed)
    start = time.perf_counter()
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data, args.epochs, 10, 0.5, lmbda=args.lmbda, evaluation_data=validation_data,
        monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
        monitor_training_cost=True, monitor_training_accuracy=True)
    seconds = time.perf_counter() - start

    n_train, n_val = len(training_data), len(validation_data)
    print(f"\n{'epoch':>5} {'train cost':>11} {'train acc':>10} {'val cost':>9} {'val acc':>8}")
    for j, row in enumerate(zip(training_cost, training_accuracy, evaluation_cost,
                                evaluation_accuracy)):
        tc, ta, ec, ea = row
        print(f"{j:>5} {tc:>11.4f} {100 * ta / n_train:>9.2f}% {ec:>9.4f} "
              f"{100 * ea / n_val:>7.2f}%")
    print(f"{args.epochs} epochs in {seconds:.1f} s on {args.backend}")

    # network2's save / load round trip (JSON that network2.py itself can read).
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.json")
        net.save(path)
        again = nielsen.load(path, backend=args.backend, device=args.device)
        print(f"saved and reloaded: {again.accuracy(validation_data)} / {n_val} validation "
              "images correct")
    if args.plot:
        plot(training_cost, evaluation_cost,
             [100 * a / n_train for a in training_accuracy],
             [100 * a / n_val for a in evaluation_accuracy])


def plot(training_cost, evaluation_cost, training_accuracy, evaluation_accuracy):
    """Chapter 3's learning curves: cost and accuracy per epoch, training vs validation."""
    import matplotlib.pyplot as plt

    epochs = range(1, len(training_cost) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, training_cost, "o-", label="training data")
    left.plot(epochs, evaluation_cost, "o-", label="validation data")
    left.set(xlabel="epoch", ylabel="cost (cross-entropy + L2)", title="cost")
    right.plot(epochs, training_accuracy, "o-", label="training data")
    right.plot(epochs, evaluation_accuracy, "o-", label="validation data")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    plt.show()


if __name__ == "__main__":
    main()
