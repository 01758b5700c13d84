"""Chapter 5 beyond the book: which neurons and initial weights keep the speed of learning level
=============================================================================================

Chapter 5 measures how fast each layer of a deep network learns by the length of its bias
gradient, averaged over the first 1000 training images, and finds that in
``[784, 30, 30, 30, 30, 10]`` with sigmoid neurons and network2's N(0, 1/n_in) weights the
first hidden layer learns about 100 times slower than the last: the vanishing gradient
problem.  ``Network.learning_speed`` computes the same numbers for any network, and
``fit(monitor=[..., "learning_speed"])`` records them before every epoch.

Here the same deep network gets sigmoid, tanh or ReLU hidden neurons with each of xmlp's
initialisations -- network2's "normalized" N(0, 1/n_in), network.py's "large" N(0, 1),
Glorot's and He's -- and the speeds are measured:

1. at initialisation, the mean over seeds 0-9 (the book's measurement);
2. before each of ``--epochs`` epochs of the book's full-batch gradient descent on those
   1000 images (eta 0.1, lmbda 5.0) for four of the settings.

A setting keeps the speeds level when every hidden layer learns at about the same rate; the
speeds *vanish* towards the input when the first layer is much slower than the last, and
*explode* when it is much faster.  Every network has cross-entropy sigmoid outputs, as the
book's, so only the hidden layers differ.

From the command line::

    python examples/speed_of_learning.py --backend torch --plot
"""

# sphinx_gallery_multi_image = "single"

import argparse
import time

import numpy as np

import xmlp

SIZES = [784, 30, 30, 30, 30, 10]
HIDDEN = ("sigmoid", "tanh", "relu")
INITS = ("normalized", "large", "glorot", "he")
#: The settings trained, the book's first.
TRAINED = (("sigmoid", "normalized"), ("sigmoid", "large"), ("tanh", "glorot"),
           ("relu", "he"))


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, cupy, jax or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0.. at initialisation")
    parser.add_argument("--plot", action="store_true",
                        help="draw the speeds at initialisation and during training")
    args = parser.parse_args()

    data = xmlp.datasets.load("mnist-sample", dtype=args.dtype)
    X, y = data.train.X[:1000], data.train.y[:1000]  # the book's: the first 1000 images

    def network(hidden, init, seed):
        return xmlp.Network(SIZES, hidden=hidden, init=init, cost="cross-entropy",
                            backend=args.backend, device=args.device, dtype=args.dtype,
                            seed=seed)

    start = time.perf_counter()
    print(f"Speeds of learning at initialisation, {SIZES}, mean over seeds "
          f"0-{args.seeds - 1} on the first 1000 sample images")
    print(f"{'hidden':<8} {'init':<11}" + "".join(f"{'layer ' + str(k + 1):>10}"
                                                  for k in range(len(SIZES) - 2))
          + f"{'last/first':>12}  verdict")
    initial = {}
    for hidden in HIDDEN:
        for init in INITS:
            speeds = np.mean([xmlp.to_numpy(network(hidden, init, s).learning_speed(X, y))
                              for s in range(args.seeds)], axis=0)[:-1]  # hidden layers
            initial[hidden, init] = speeds
            ratio = speeds[-1] / speeds[0]
            verdict = ("vanishing" if ratio > 10 else "slower towards the input" if ratio > 2
                       else "level" if ratio >= 0.5 else "faster towards the input"
                       if ratio >= 0.1 else "exploding")
            print(f"{hidden:<8} {init:<11}" + "".join(f"{v:>10.3g}" for v in speeds)
                  + f"{ratio:>12.3g}  {verdict}")

    print(f"\nBefore each of {args.epochs} epochs of full-batch gradient descent on those "
          "1000 images (eta 0.1, lmbda 5.0), seed 0:")
    curves = {}
    for hidden, init in TRAINED + (("relu", "large"),):
        net = network(hidden, init, 0)
        history = net.fit(X, y, epochs=args.epochs, batch_size=1000, eta=0.1, lmbda=5.0,
                          monitor=["training_cost", "learning_speed"], on_divergence="stop")
        curves[hidden, init] = np.array(history.learning_speed[:-1])  # (layers, epochs)
        first, last = curves[hidden, init][:, 0], curves[hidden, init][:, -1]
        print(f"  {hidden} + {init}: "
              + (f"diverged in epoch {history.epochs} (the speeds it started with: "
                 + ", ".join(f"{v:.3g}" for v in first) + ")"
                 if history.stop_reason == "diverged" else
                 f"training cost {history.training_cost[-1]:.3f}, test accuracy "
                 f"{100 * net.accuracy(*data.test):.1f}%; speeds before the last epoch "
                 + ", ".join(f"{v:.2g}" for v in last)))
    print(f"{time.perf_counter() - start:.1f} s on {args.backend}, {args.dtype}")
    if args.plot:
        plot(initial, curves, args.seeds)


def plot(initial, curves, seeds):
    """The speeds at initialisation per activation, and chapter 5's training figure."""
    import matplotlib.pyplot as plt

    colors = {"normalized": "#2A6EA6", "large": "#FF5555", "glorot": "#FFA933",
              "he": "#55AA55"}
    layers = np.arange(1, len(SIZES) - 1)
    fig, axes = plt.subplots(1, len(HIDDEN), figsize=(12, 3.9), sharey=True)
    for ax, hidden in zip(axes, HIDDEN):
        for init in INITS:
            ax.plot(layers, initial[hidden, init], "o-", color=colors[init], label=init)
        ax.set_yscale("log")
        ax.set_xticks(layers)
        ax.set(title=f"{hidden} hidden layers", xlabel="hidden layer")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("speed of learning at initialisation")
    axes[-1].legend(title="init", fontsize=8, loc="lower right")
    fig.suptitle(f"{SIZES}: mean over seeds 0-{seeds - 1}; level lines learn evenly, "
                 "rising lines vanish towards the input, falling lines explode")
    fig.tight_layout()

    trained = [key for key in TRAINED if key in curves]
    fig, axes = plt.subplots(1, len(trained), figsize=(3.3 * len(trained), 3.6), sharey=True)
    for ax, (hidden, init) in zip(axes, trained):
        for l, curve in enumerate(curves[hidden, init]):
            ax.plot(np.arange(len(curve)), curve, label=f"hidden layer {l + 1}")
        ax.set_yscale("log")
        ax.set(title=f"{hidden} + {init}", xlabel="epochs of training")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("speed of learning")
    axes[0].legend(fontsize=7)
    fig.suptitle("Speed of learning during full-batch gradient descent (chapter 5's "
                 "figure; the first is the book's network)")
    fig.tight_layout()
    plt.show()


if __name__ == "__main__":
    main()
