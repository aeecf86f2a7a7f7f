"""The `baton` command line (SPEC §8)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.logs import configure_logging
from app.settings import SettingsError, load_settings
from app.sweep import DEFAULT_BUDGET


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging("INFO", "text")  # `baton serve` sets its own, from the environment
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

    sweep = commands.add_parser("sweep", help="run the incident clocks once")
    sweep.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    sweep.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    sweep.add_argument("--now", type=_moment, help="evaluate the clocks as of this ISO time")
    sweep.add_argument(
        "--budget", type=int, default=DEFAULT_BUDGET, help="write operations at most per run"
    )
    sweep.set_defaults(run=_sweep)

    demo = commands.add_parser("demo", help="play a whole incident against a local GitHub stand-in")
    demo.add_argument("--plain", action="store_true", help="plain Markdown instead of rendering")
    demo.set_defaults(run=_demo)

    action = commands.add_parser("action", help="handle the event of a GitHub Actions run")
    action.set_defaults(run=_action)

    labels = commands.add_parser("labels", help="create Baton's labels in a repository")
    labels.add_argument("--repo", metavar="OWNER/NAME", help="by default $GITHUB_REPOSITORY")
    labels.set_defaults(run=_labels)

    check = commands.add_parser(
        "check-config", help="validate a .github/baton.yml file, or a repository's configuration"
    )
    check.add_argument("file", nargs="?")
    check.add_argument(
        "--repo", metavar="OWNER/NAME", help="the configuration Baton reads from GitHub instead"
    )
    check.set_defaults(run=_check_config)

    report = commands.add_parser("report", help="incident figures of one repository")
    report.add_argument("--repo", metavar="OWNER/NAME", required=True)
    report.add_argument("--since", type=_window, default="90d", help="a duration, or `all`")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    report.set_defaults(run=_report)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.has_app_credentials:
        from app.setup import serve_setup

        serve_setup(settings, host=args.host, port=args.port)
        return 0

    from app.server.store import StoreUnavailable
    from app.service import build_service

    try:
        service = build_service(settings)
    except StoreUnavailable as error:
        print(f"baton: {error}", file=sys.stderr)
        return 1
    # No access log and no proxy-header rewriting: Baton logs what it does with a delivery
    # itself and never reads the client's address, and both cost time on every request.
    # No logging set-up of uvicorn's own: its lines go through Baton's, in Baton's format.
    uvicorn.run(
        service.web,
        host=args.host,
        port=args.port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from app.sweep import sweep_once

    report = asyncio.run(
        sweep_once(
            load_settings(),
            token=os.environ.get("GITHUB_TOKEN"),
            repo=args.repo or os.environ.get("GITHUB_REPOSITORY"),
            now=args.now or datetime.now(UTC),
            dry_run=args.dry_run,
            budget=args.budget,
        )
    )
    for line in report.lines():
        print(line)
    print(report.summary())
    return 0


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from app.demo.play import play

    logging.getLogger().setLevel(logging.WARNING)  # the story is the output
    asyncio.run(play(Console(), plain=args.plain))
    return 0


def _action(args: argparse.Namespace) -> int:
    from app.action import run_action

    print(asyncio.run(run_action(os.environ)))
    return 0


def _labels(args: argparse.Namespace) -> int:
    from app.action import create_labels

    print(asyncio.run(create_labels(os.environ, args.repo)))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from app.config import check_config_file
    from app.config_check import check_repository_config

    if (args.file is None) == (args.repo is None):
        raise SettingsError("check-config: give a FILE or --repo OWNER/NAME")
    if args.repo is None:
        code, text = check_config_file(args.file)
    else:
        token = os.environ.get("GITHUB_TOKEN")
        code, text = asyncio.run(check_repository_config(load_settings(), args.repo, token=token))
    print(text)
    return code


def _report(args: argparse.Namespace) -> int:
    import json

    from app.report import repository_report

    report = asyncio.run(
        repository_report(
            load_settings(),
            repo=args.repo,
            token=os.environ.get("GITHUB_TOKEN"),
            now=datetime.now(UTC),
            since=args.since,
        )
    )
    print(json.dumps(report.to_json(), indent=2) if args.json else report.table())
    return 0


def _window(text: str) -> timedelta | None:
    from app.report import window

    try:
        return window(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


if __name__ == "__main__":
    sys.exit(main())
