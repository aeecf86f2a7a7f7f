"""Installing Baton: its labels exist before the first incident is reported through the form."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from app.demo.harness import Stage
from app.entry.registration import create_setup_app
from app.incident.card import CARD_START
from app.incident.labels import LABEL_COLOURS
from app.sandbox import AsgiWebhookSink, Fault
from app.server.store import DeliveryStatus
from tests.e2e.helpers import REPORT, FakeClock, baton_requests, form_labels, route_list

ORG = "globex"
BATON_LABELS = {
    "incident",
    "sev1",
    "sev2",
    "sev3",
    "sev4",
    "status:investigating",
    "status:identified",
    "status:mitigated",
    "status:resolved",
    "status:closed",
    "retrospective",
    "stale",
    "incident-action-item",
}
LIST_LABELS = "GET /repos/{owner}/{repo}/labels"
CREATE_LABEL = "POST /repos/{owner}/{repo}/labels"
LABELS = "/repos/{owner}/{repo}/labels"


def labels_of(world: Stage, repo: str) -> dict[str, tuple[str, str | None]]:
    """name -> (colour, description) of the repository's labels."""
    found = world.standin.world.repo(repo)
    assert found is not None
    return {label.name: (label.color, label.description) for label in found.labels.values()}


def new_org(world: Stage, *repos: str) -> None:
    world.standin.add_org(ORG)
    for name in repos:
        world.standin.add_repo(f"{ORG}/{name}")
    world.standin.set_role(f"{ORG}/{repos[0]}", "wile", "admin")


async def test_the_form_declares_on_a_repository_where_baton_was_just_installed(
    world: Stage,
) -> None:
    new_org(world, "shop")
    await world.standin.install_app(ORG, by="wile")
    await world.settle()

    issue = await world.standin.submit_form(
        f"{ORG}/shop", "[Incident]: checkout is down", REPORT, "rita", form_labels()
    )
    await world.settle()

    body = world.standin.issue(f"{ORG}/shop", issue["number"])["body"]
    assert body.startswith(CARD_START), "the form's incident label was kept, and it declared"


async def test_installing_creates_every_label_with_its_colour_and_description_in_each_repository(
    world: Stage,
) -> None:
    new_org(world, "shop", "api", "docs")
    await world.standin.install_app(ORG, by="wile")
    await world.settle()

    for repo in ("shop", "api", "docs"):
        labels = labels_of(world, f"{ORG}/{repo}")
        assert set(labels) == BATON_LABELS
        for name, (colour, description) in labels.items():
            assert colour == LABEL_COLOURS[name]
            assert description, f"{name} has a description"
            assert len(description) <= 100, "GitHub's limit for a label's description"


async def test_installing_costs_per_repository_what_the_costs_page_says(world: Stage) -> None:
    new_org(world, "shop", "api")
    world.standin.reset_requests()
    await world.standin.install_app(ORG, by="wile")
    await world.settle()

    per_repository = Counter(route_list(baton_requests(world)))
    assert per_repository == {
        "GET /repos/{owner}/{repo}/contents/{path}": 2 * 2,
        LIST_LABELS: 2,
        CREATE_LABEL: 2 * 13,
    }
    assert world.standin.count(content_creating=True) == 0


async def test_labels_that_exist_are_left_alone_and_one_listing_finds_them(world: Stage) -> None:
    new_org(world, "shop")
    await world.standin.open_issue(f"{ORG}/shop", "Old", "", "wile", ["incident", "sev1"])
    world.standin.world.repos[f"{ORG}/shop"].labels["incident"].color = "000000"
    world.standin.reset_requests()

    await world.standin.install_app(ORG, by="wile")
    await world.settle()

    label_requests = [r for r in route_list(baton_requests(world)) if "/labels" in r]
    assert label_requests == [LIST_LABELS] + [CREATE_LABEL] * (len(BATON_LABELS) - 2)
    assert labels_of(world, f"{ORG}/shop")["incident"][0] == "000000", "left as it was"


async def test_a_repository_added_to_the_installation_gets_the_labels(world: Stage) -> None:
    new_org(world, "shop", "api")
    installation = await world.standin.install_app(ORG, by="wile", repos=["shop"])
    await world.settle()
    assert labels_of(world, f"{ORG}/api") == {}, "not given to Baton yet"

    await world.standin.add_to_installation(installation, ["api"], by="wile")
    await world.settle()

    assert set(labels_of(world, f"{ORG}/api")) == BATON_LABELS


async def test_the_labels_follow_the_repository_configuration(world: Stage) -> None:
    new_org(world, "shop")
    world.standin.put_file(
        f"{ORG}/shop",
        ".github/baton.yml",
        "severities: [critical, major, minor]\nlabels:\n  incident: outage\n",
    )
    await world.standin.install_app(ORG, by="wile")
    await world.settle()

    labels = labels_of(world, f"{ORG}/shop")
    assert {"outage", "critical", "major", "minor"} <= set(labels)
    assert not {"incident", "sev1"} & set(labels)
    assert labels["outage"][0] == LABEL_COLOURS["incident"]
    assert labels["critical"][0] == LABEL_COLOURS["sev1"]


async def test_a_repository_gone_before_its_labels_are_created_is_done_with(
    world: Stage,
) -> None:
    new_org(world, "shop")
    world.standin.faults.add(Fault(method="GET", route=LABELS, status=404))
    await world.standin.install_app(ORG, by="wile")
    await world.settle()

    assert labels_of(world, f"{ORG}/shop") == {}
    counts = await world.service.store.counts()
    assert counts[DeliveryStatus.FAILED] == counts[DeliveryStatus.PENDING] == 0


async def test_the_labels_are_created_once_github_answers_again(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    new_org(world, "shop")
    world.standin.faults.add(Fault(method="POST", route=LABELS, status=502, times=3))
    await world.standin.install_app(ORG, by="wile")
    await world.settle()
    assert set(labels_of(world, f"{ORG}/shop")) < BATON_LABELS, "GitHub failed meanwhile"

    clock.advance(seconds=30)
    world.service.worker.notify()
    await world.settle()

    assert set(labels_of(world, f"{ORG}/shop")) == BATON_LABELS
    assert (await world.service.store.counts())[DeliveryStatus.FAILED] == 0


async def test_an_installation_before_baton_restarts_after_registering_is_recovered(
    world: Stage, tmp_path: Path
) -> None:
    """The App is installed while `baton serve` still shows the registration page: the
    delivery fails there, and Baton asks for it again once it runs."""
    await world.stop()
    registration = create_setup_app(env_path=tmp_path / ".env", api_url=world.standin.base_url)
    world.standin.hookshot.sink = AsgiWebhookSink(registration)
    new_org(world, "shop")
    await world.standin.install_app(ORG, by="wile")
    await world.standin.settle()
    assert world.standin.deliveries[-1].status_code == 503

    await world.start()
    for _ in range(500):  # the recovery runs as Baton starts
        if any(d.redelivery for d in world.standin.deliveries):
            break
        await asyncio.sleep(0.01)
    await world.settle()

    assert set(labels_of(world, f"{ORG}/shop")) == BATON_LABELS
