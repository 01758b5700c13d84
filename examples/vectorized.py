"""The fully matrix-based mini-batch version: ``xmlp.Network(...).fit`` on (n, 784) arrays.

The book's chapter-2 exercise, done: a whole mini-batch goes through backpropagation as one
matrix product per layer (Z = A @ W + b) instead of a Python loop over examples.  Cross-entropy
cost, network2's normalized initialisation, eta = 0.5, on any backend.

    python examples/vectorized.py --backend array_api_strict
"""

import argparse
import time

import xmlp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
