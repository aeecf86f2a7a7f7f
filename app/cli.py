"""Baton runs incident response on GitHub issues. Documentation: README.md and docs/ in
Baton's repository (docs/setup.md for running it)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import textwrap
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

from app.entry.settings import Settings, SettingsError, check_repository, load_settings
from app.entry.variables import COMMAND_VARIABLES
from app.jobs.sweep_report import DEFAULT_BUDGET
from app.logs import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging("INFO", "text")  # `baton serve` sets its own, from the settings
    settings: Settings | None = None
    try:
        settings = load_settings()
        return int(args.run(args, settings) or 0)
    except Exception as error:
        from app.entry.failures import explain

        if args.debug:
            traceback.print_exc()
        failure = explain(error, settings)
        print("baton: " + " ".join(failure.message.split()), file=sys.stderr)
        return failure.status


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help, unless it has none (None, a flag's False, or an
    option left out of the namespace when not given); the description and epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baton", description=__doc__, formatter_class=_HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('baton')}")
    debug = "show the traceback of a failure"
    parser.add_argument("--debug", action="store_true", help=debug)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=_environment_epilog(name),
            formatter_class=_HelpFormatter,
        )

    serve = command("serve", "run the webhook server, or the registration page until registered")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=3000, help="the port to listen on")
    serve.set_defaults(run=_serve)

    sweep = command("sweep", "run the incident clocks once")
    sweep.add_argument(
        "--repo",
        metavar="OWNER/NAME",
        help="only this repository; by default $GITHUB_REPOSITORY, else every repository "
        "the App is installed on",
    )
    sweep.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    sweep.add_argument(
        "--now",
        type=_moment,
        metavar="TIME",
        help="evaluate the clocks as of this ISO 8601 time; by default now",
    )
    sweep.add_argument(
        "--budget",
        type=int,
        default=DEFAULT_BUDGET,
        metavar="N",
        help="write operations at most per run",
    )
    sweep.set_defaults(run=_sweep)

    demo = command("demo", "play a whole incident against a local GitHub stand-in")
    demo.add_argument("--plain", action="store_true", help="plain Markdown instead of rendering")
    demo.set_defaults(run=_demo)

    action = command("action", "handle the event of a GitHub Actions run")
    action.set_defaults(run=_action)

    labels = command("labels", "create Baton's labels in a repository")
    labels.add_argument(
        "--repo", metavar="OWNER/NAME", help="the repository; by default $GITHUB_REPOSITORY"
    )
    labels.set_defaults(run=_labels)

    check = command(
        "check-config", "validate a .github/baton.yml file, or a repository's configuration"
    )
    check.add_argument("file", nargs="?", help="the configuration file to validate")
    check.add_argument(
        "--repo", metavar="OWNER/NAME", help="the configuration Baton reads from GitHub instead"
    )
    check.set_defaults(run=_check_config)

    report = command("report", "incident figures of one repository")
    report.add_argument("--repo", metavar="OWNER/NAME", required=True, help="the repository")
    report.add_argument(
        "--since",
        type=_window,
        default="90d",
        metavar="WINDOW",
        help="incidents declared within this duration (90d, 2w, 12h), or `all`",
    )
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    report.set_defaults(run=_report)

    status = command("status-page", "build the public status page of one repository")
    status.add_argument("--repo", metavar="OWNER/NAME", required=True, help="the repository")
    status.add_argument("--out", metavar="DIR", required=True, help="the folder to write it to")
    status.add_argument(
        "--url",
        help="where the page is published, for its feed and links; "
        "by default GitHub Pages' address, https://OWNER.github.io/NAME/",
    )
    status.add_argument("--title", help="the page's title; by default `OWNER/NAME status`")
    status.set_defaults(run=_status_page)
    deliveries = command("deliveries", "list, retry and prune the stored webhook deliveries")
    deliveries.set_defaults(run=_deliveries, failed=False, id=None)
    actions = deliveries.add_subparsers(
        required=True, metavar="ACTION", dest="action", help="list, retry or prune"
    )
    listing = actions.add_parser("list", help="the deliveries waiting, running or failed")
    listing.add_argument("--failed", action="store_true", help="only the failed ones")
    retry = actions.add_parser("retry", help="run failed deliveries again")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", metavar="ID", help="one delivery (X-GitHub-Delivery)")
    which.add_argument("--failed", action="store_true", help="every failed delivery")
    actions.add_parser(
        "prune", help="delete the done deliveries older than BATON_RETENTION_DAYS (default 7)"
    )

    for subparser in commands.choices.values():  # `--debug` after the command works too
        subparser.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=debug
        )
    return parser


def _environment_epilog(command: str) -> str:
    names = COMMAND_VARIABLES[command]
    if not names:
        return "environment variables: none"
    listed = textwrap.fill(", ".join(names), width=78, initial_indent="  ", subsequent_indent="  ")
    return (
        "environment variables, also read from .env in the working directory"
        f" (docs/setup.md):\n{listed}"
    )


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    configure_logging(settings.log_level, settings.log_format)
    if not settings.has_app_credentials:
        from app.entry.registration import serve_setup

        serve_setup(settings, host=args.host, port=args.port)
        return 0

    from app.entry.service import build_service

    service = build_service(settings)
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


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    from app.entry.sweep_once import sweep_once

    report = asyncio.run(
        sweep_once(
            settings,
            token=settings.github_token,
            repo=settings.repository(args.repo),
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


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from app.demo.play import play

    logging.getLogger().setLevel(logging.WARNING)  # the story is the output
    asyncio.run(play(Console(), plain=args.plain))
    return 0


def _action(args: argparse.Namespace, settings: Settings) -> int:
    from app.entry.actions_mode import run_action

    print(asyncio.run(run_action(settings)))
    return 0


def _labels(args: argparse.Namespace, settings: Settings) -> int:
    from app.entry.actions_mode import create_labels

    print(asyncio.run(create_labels(settings, args.repo)))
    return 0


def _check_config(args: argparse.Namespace, settings: Settings) -> int:
    from app.config import check_config_file
    from app.entry.config_check import check_repository_config

    if (args.file is None) == (args.repo is None):
        raise SettingsError("check-config: give a FILE or --repo OWNER/NAME")
    if args.repo is None:
        code, text = check_config_file(args.file)
    else:
        repo = check_repository(args.repo)
        code, text = asyncio.run(
            check_repository_config(settings, repo, token=settings.github_token)
        )
    print(text)
    return code


def _report(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from app.entry.report import repository_report

    report = asyncio.run(
        repository_report(
            settings,
            repo=check_repository(args.repo),
            token=settings.github_token,
            now=datetime.now(UTC),
            since=args.since,
        )
    )
    print(json.dumps(report.to_json(), indent=2) if args.json else report.table())
    return 0


def _status_page(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from app.entry.status_page import build_status_page

    built = asyncio.run(
        build_status_page(
            settings,
            repo=check_repository(args.repo),
            token=settings.github_token,
            out=Path(args.out),
            now=datetime.now(UTC),
            url=args.url,
            title=args.title,
        )
    )
    print(built.summary())
    return 0


def _deliveries(args: argparse.Namespace, settings: Settings) -> int:
    from app.entry.deliveries import DeliveriesError, deliveries_command

    try:
        text = asyncio.run(
            deliveries_command(settings, args.action, failed=args.failed, delivery_id=args.id)
        )
    except DeliveriesError as error:
        print(f"baton: {error}", file=sys.stderr)
        return 1
    print(text)
    return 0


def _window(text: str) -> timedelta | None:
    from app.entry.report import window

    try:
        return window(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
