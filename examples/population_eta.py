"""Chapter 3: three learning rates side by side, as one population
=================================================================

The book chooses eta by watching the training cost of the first epochs for eta = 0.025,
0.25 and 2.5 ("How to choose a neural network's hyper-parameters?": too small learns
slowly, too large oscillates).  Here the three networks -- the same seed, so the same
initial weights and mini-batches -- are the members of one ``xmlp.Population`` and train
as one program; member k is what ``Network(..., seed=0).fit(..., eta=eta[k])`` alone gives.
Then five seeds at one eta show the spread of a run, and their ensemble (the mean of their
outputs) against its members.

From the command line::

    python examples/population_eta.py --backend jax --plot
    xmlp train --eta 0.025,0.25,2.5 --cost cross-entropy --plot etas.png

``--plot`` draws the training cost per epoch for each eta, as the book's figure does.
"""

# sphinx_gallery_multi_image = "single"

import argparse
import statistics
import time

import xmlp


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--backend", default="numpy",
                        help="numpy, torch, jax, cupy or array_api_strict")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--plot", action="store_true", help="draw the training cost")
    args = parser.parse_args()

    data = xmlp.datasets.load("mnist-sample", validation=1000)
    etas = [0.025, 0.25, 2.5]
    grid = xmlp.Population([784, 30, 10], seeds=[0] * len(etas), cost="cross-entropy",
                           backend=args.backend, device=args.device)
    start = time.perf_counter()
    histories = grid.fit(*data.train, epochs=args.epochs, batch_size=10, eta=etas,
                         lmbda=0.5, evaluation_data=data.validation)
    seconds = time.perf_counter() - start
    print(f"{len(etas)} learning rates, {args.epochs} epochs, one program: {seconds:.1f} s "
          f"on {args.backend}")
    print(f"{'eta':>6} {'cost, epoch 1':>14} {'cost, last epoch':>17} {'validation':>11}")
    for eta, h in zip(etas, histories):
        print(f"{eta:>6g} {h.training_cost[0]:>14.4f} {h.training_cost[-1]:>17.4f} "
              f"{100 * h.evaluation_accuracy[-1]:>10.2f}%")

    seeds = xmlp.Population([784, 30, 10], seeds=range(5), cost="cross-entropy",
                            backend=args.backend, device=args.device)
    seeds.fit(*data.train, epochs=args.epochs, batch_size=10, eta=0.5, lmbda=0.5,
              evaluation_data=data.validation)
    members = seeds.member_accuracy(*data.test)
    print("\nfive seeds at eta 0.5, test accuracy: "
          + ", ".join(f"{100 * a:.1f}%" for a in members)
          + f"; mean {100 * statistics.fmean(members):.2f}%, sd "
            f"{100 * statistics.stdev(members):.2f} points; their ensemble "
            f"{100 * seeds.accuracy(*data.test):.2f}%")
    if args.plot:
        plot(etas, histories)


def plot(etas, histories):
    """The book's figure: the training cost per epoch for each learning rate."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for eta, h in zip(etas, histories):
        ax.plot(range(1, len(h.training_cost) + 1), h.training_cost, label=f"eta = {eta:g}")
    ax.set(xlabel="Epoch", ylabel="Cost on the training data",
           title="Three learning rates, trained as one population")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    plt.show()


if __name__ == "__main__":
    main()
