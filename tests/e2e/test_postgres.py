"""Baton served over HTTP on a PostgreSQL delivery store (BATON_DATABASE_URL=postgresql://):
an incident declared and commands on it, as with the default SQLite file."""

from __future__ import annotations

from app.demo.harness import stage
from app.server.store import DeliveryStatus
from tests.e2e.helpers import assert_taken, open_incident, say, state_of
from tests.postgres import Schemas


async def test_an_incident_and_its_commands_on_a_postgresql_store(postgres: Schemas) -> None:
    async with stage(over_http=True, database_url=postgres.new_url()) as world:
        number = await open_incident(world)
        took = await say(world, number, "/ic me", "bob")
        severity = await say(world, number, "/severity sev1", "bob")
        counts = await world.service.store.counts()

    assert_taken(took, "@bob is now the Incident Commander for this incident.")
    assert_taken(severity, "Severity is now **sev1** (was sev3).")
    state = state_of(world, number)
    assert (state.ic, state.severity) == ("bob", "sev1")
    assert state.applied[-2:] == (took.comment_id, severity.comment_id)
    assert counts == dict.fromkeys(counts, 0) and DeliveryStatus.PENDING in counts
