"""`python -m chaos.load ...`: the same generator inside a client container."""

from __future__ import annotations

import argparse
import sys

from chaos.load.cli_args import add_load_arguments, run_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.load", description="open-model load against an ENT stack")
    add_load_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
