"""The same app with plain @hydra.main: in a sweep, seedexp's sweeper (from the config) still runs it."""

import hydra
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import seedexp


@hydra.main(config_path="conf", config_name="config", version_base=None)
def train(cfg):
    seeds = seedexp.current_seeds()
    X, y = make_classification(n_samples=200, random_state=seeds.seed("split"))
    return {"accuracy": float(LogisticRegression().fit(X, y).score(X, y))}


if __name__ == "__main__":
    train()
