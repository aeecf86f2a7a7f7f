from datetime import timedelta
from tests.e2e.test_sweep import plant_incident, declared, sweep
async def test_dbg(timed_world, clock):
    world = timed_world
    start = clock()
    number = plant_incident(world, declared(start, severity="sev2", nudges=("escalate",)))
    r = await sweep(world, start + timedelta(hours=1))
    print(r)
    for q in world.standin.requests[-10:]: print(q.method, q.path, q.status)
    assert 0
