"""Declaring an incident, end to end: a labelled issue becomes an incident with its card."""

from __future__ import annotations

from pathlib import Path

from app.demo.harness import REPO, Stage, stage
from app.incident.card import CARD_END, CARD_START, read_card
from tests.e2e.helpers import REPORT, baton_requests, card_key, open_incident, route_list


async def test_a_labelled_issue_becomes_an_incident_over_http(tmp_path: Path) -> None:
    async with stage(over_http=True, database_url=f"sqlite:///{tmp_path / 'b.db'}") as world:
        number = await open_incident(world)

        issue = world.standin.issue(REPO, number)
        body = issue["body"]
        assert body.startswith(CARD_START)
        assert body.endswith(REPORT), "the reporter's text is kept byte for byte"
        reading = read_card(body, card_key(world, number))
        assert reading.state is not None
        assert reading.state.status == "investigating"
        assert reading.state.severity == "sev3"
        assert reading.state.reporter == "rita"
        assert "**Incident Commander:** _unassigned_" in body
        assert CARD_END in body
        assert {label["name"] for label in issue["labels"]} == {
            "incident",
            "sev3",
            "status:investigating",
        }
        comments = world.standin.comments(REPO, number)
        assert len(comments) == 1
        assert comments[0]["user"]["login"] == "baton[bot]"
        assert "/ic me" in comments[0]["body"]
        # Baton's own changes came back as deliveries (sender: the bot) and were ignored.
        bot_deliveries = [d for d in world.standin.deliveries if d.sender == "baton[bot]"]
        assert bot_deliveries and all(d.status_code in (200, 202) for d in bot_deliveries)


async def test_a_declaration_costs_three_requests_once_the_repository_is_known(
    world: Stage,
) -> None:
    await open_incident(world, "First incident warms the caches")
    world.standin.reset_requests()

    number = await open_incident(world, "Second incident")

    requests = baton_requests(world)
    assert route_list(requests) == [
        "GET /repos/{owner}/{repo}/issues/{issue_number}",
        "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ]
    assert world.standin.count(content_creating=True) == 1
    assert len(world.standin.comments(REPO, number)) == 1


async def test_the_first_declaration_in_a_repository_sets_up_labels_and_reads_config(
    world: Stage,
) -> None:
    number = await open_incident(world)

    routes = route_list(baton_requests(world))
    assert routes == [
        "GET /repos/{owner}/{repo}/contents/{path}",  # .github/baton.yml of the repository
        "GET /repos/{owner}/{repo}/contents/{path}",  # and of the organisation's .github
        "GET /repos/{owner}/{repo}/issues/{issue_number}",
        "GET /repos/{owner}/{repo}/labels",
        "POST /repos/{owner}/{repo}/labels",
        "POST /repos/{owner}/{repo}/labels",
        "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    ]
    labels = {
        label["name"]: label["color"] for label in world.standin.issue(REPO, number)["labels"]
    }
    assert labels["sev3"] != "ededed" and labels["status:investigating"] != "ededed"


async def test_declaring_twice_changes_nothing_more(world: Stage) -> None:
    number = await open_incident(world)
    first_body = world.standin.issue(REPO, number)["body"]

    await world.standin.remove_label(REPO, number, "incident", "alice")
    await world.settle()
    await world.standin.add_labels(REPO, number, ["incident"], "alice")
    await world.settle()

    assert world.standin.issue(REPO, number)["body"] == first_body
    assert len(world.standin.comments(REPO, number)) == 1


async def test_units_of_work_share_kept_alive_connections_to_github(tmp_path: Path) -> None:
    async with stage(over_http=True, database_url=f"sqlite:///{tmp_path / 'b.db'}") as world:
        for title in ("First", "Second", "Third"):
            await open_incident(world, title)
        requests = len(baton_requests(world))
        pool = world.service.github._pool  # the process's one pool (httpx.AsyncHTTPTransport)
        assert pool is not None
        connections = pool._pool.connections  # httpcore's open connections
        assert requests >= 12
        assert 1 <= len(connections) <= 2, "each delivery does not open its own connection"
