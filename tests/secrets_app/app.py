"""A user's Hydra app given secrets on the command line (tests/test_secrets.py).

It checks that it received the real values, which the test also puts in
``SECRETS_APP_TOKEN`` (the environment route), and fails the run otherwise.
"""

import os

import seedexp


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg, seeds):
    token = os.environ["SECRETS_APP_TOKEN"]
    seen = (cfg.db.password == token, cfg.service.api_key == token, f":{token}@" in cfg.tracking.uri,
            cfg.model.max_tokens == 512)
    if not all(seen):
        raise RuntimeError(f"the run did not receive the real values: {seen}")
    if cfg.seed == 1:
        import logging

        logging.getLogger(__name__).warning("connecting with %s", cfg.db.password)  # a careless log line
    return {"saw_real_values": 1.0, "draw": float(seeds.generator("init").random())}


if __name__ == "__main__":
    train()
