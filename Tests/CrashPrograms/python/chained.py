#!/usr/bin/env python3
# A config loader turns a missing file into its own error while handling it (implicit chain,
# "During handling of the above exception, another exception occurred:"), then the caller
# wraps that with `raise … from` (explicit chain, "The above exception was the direct cause…").

# REBUILD-PADDING


class ConfigError(Exception):
    pass


def read_settings(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        settings = {}
        return settings["defaults"]


def load(path):
    try:
        return read_settings(path)
    except KeyError as error:
        raise ConfigError(f"cannot load {path}: no defaults") from error


if __name__ == "__main__":
    print("config: loading")
    load("/etc/orders-9f3a/settings.toml")
