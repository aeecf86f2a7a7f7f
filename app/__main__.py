"""The `baton` command line (SPEC §8)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from app.settings import SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.run(args) or 0)
    except SettingsError as error:
        print(f"baton: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the webhook server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check-config", help="validate a .github/baton.yml file")
    check.add_argument("file")
    check.set_defaults(run=_check_config)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.service import build_service

    service = build_service(load_settings())
    uvicorn.run(service.web, host=args.host, port=args.port, log_level="info")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from app.config import check_config_file

    code, text = check_config_file(args.file)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
