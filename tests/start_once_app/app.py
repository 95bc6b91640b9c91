"""An @seedexp.main app whose heavy import comes after `import seedexp` (the order the README shows)."""

import seedexp

import heavy_marker  # noqa: F401 - imported once: the hash-seed restart happened at `import seedexp`


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg, seeds):
    return {"hash_of_a_str": float(hash("seedexp") % 1000)}


if __name__ == "__main__":
    train()
