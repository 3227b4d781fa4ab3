"""The `entchaos` command: parse, call, print. Logic lives in the packages."""

from __future__ import annotations

import argparse
import sys

from chaos.errors import ChaosError
from chaos.logging import configure


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="entchaos", description=__doc__)
    parser.add_argument("--log-level", default=None, help="debug, info, warning (default: info)")
    sub = parser.add_subparsers(dest="command", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure(args.log_level)
    try:
        return int(args.func(args) or 0)
    except ChaosError as exc:
        print(f"entchaos: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("entchaos: interrupted", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
