"""A pushed `.github/baton.yml` takes effect at once: GitHub's `push` delivery tells Baton which
cached configurations to read again, so an incident declared right after the push follows it."""

from __future__ import annotations

import asyncio

from app.config import CONFIG_PATH, ORG_CONFIG_REPO
from app.demo.harness import ORG, REPO, Stage
from app.github.config_source import ConfigCache
from app.sandbox.faults import Fault
from tests.e2e.helpers import open_incident

ORG_REPO = f"{ORG}/{ORG_CONFIG_REPO}"
CONTENTS = "/repos/{owner}/{repo}/contents/{path}"


def severity_labels(world: Stage, number: int) -> set[str]:
    labels = {label["name"] for label in world.standin.issue(REPO, number)["labels"]}
    return {name for name in labels if name.startswith("sev")}


def config_reads(world: Stage) -> int:
    return world.standin.count(method="GET", route=CONTENTS)


async def test_an_incident_declared_right_after_a_push_follows_the_pushed_file(
    world: Stage,
) -> None:
    assert severity_labels(world, await open_incident(world, "Before the push")) == {"sev3"}

    await world.standin.push_file(REPO, CONFIG_PATH, "default_severity: sev2\n", "alice")
    number = await open_incident(world, "Right after the push")

    assert severity_labels(world, number) == {"sev2"}


async def test_a_push_to_the_organisations_github_repository_applies_to_its_repositories(
    world: Stage,
) -> None:
    world.standin.add_repo(ORG_REPO)
    await open_incident(world, "Before the push")

    await world.standin.push_file(ORG_REPO, CONFIG_PATH, "default_severity: sev1\n", "alice")
    number = await open_incident(world, "Right after the push")

    assert severity_labels(world, number) == {"sev1"}


async def test_a_push_whose_commit_list_may_be_cut_short_is_taken_as_a_change(
    world: Stage,
) -> None:
    await open_incident(world, "Before the push")

    later = [{"notes.md": f"note {n}\n"} for n in range(24)]
    await world.standin.push(REPO, [{CONFIG_PATH: "default_severity: sev1\n"}, *later], "alice")
    number = await open_incident(world, "Right after the push")

    assert severity_labels(world, number) == {"sev1"}


async def test_pushes_to_another_branch_or_of_other_files_keep_the_configuration(
    world: Stage,
) -> None:
    await open_incident(world, "Before the pushes")
    reads = config_reads(world)

    await world.standin.push_file(
        REPO, CONFIG_PATH, "default_severity: sev1\n", "alice", branch="try"
    )
    await world.standin.push_file(REPO, "docs/runbook.md", "# Runbook\n", "alice")
    number = await open_incident(world, "After the pushes")

    assert config_reads(world) == reads
    assert severity_labels(world, number) == {"sev3"}


async def test_a_configuration_read_while_a_push_comes_is_not_kept(world: Stage) -> None:
    configs = ConfigCache()
    world.standin.faults.add(Fault("GET", CONTENTS, kind="slow", delay=0.2))
    installation = next(iter(world.standin.world.installations))
    async with world.service.github.installation(installation) as session:
        reading = asyncio.create_task(configs.get(session, REPO))
        await asyncio.sleep(0.05)  # the read has begun: the push comes during it
        configs.forget(REPO)
        await reading

        assert configs.peek(REPO) is None
        await configs.get(session, REPO)
        assert configs.peek(REPO) is not None


async def test_a_push_to_the_organisations_github_repository_forgets_only_that_owner(
    world: Stage,
) -> None:
    standin = world.standin
    standin.add_repo("acme/api")
    standin.add_org("globex")
    standin.add_repo("globex/web")
    acme = next(iter(standin.world.installations))
    globex = standin.install("globex")
    configs = ConfigCache()
    for repo, installation in (("acme/web", acme), ("Acme/API", acme), ("globex/web", globex)):
        async with world.service.github.installation(installation) as session:
            await configs.get(session, repo)

    configs.forget("ACME/.github")

    assert configs.peek("acme/web") is None and configs.peek("acme/api") is None
    assert configs.peek("globex/web") is not None
