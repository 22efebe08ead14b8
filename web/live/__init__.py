"""The live machinery: the bus hub (hub.py) and the state it keeps (inflight.py: replies in flight;
health.py: each process's heartbeats), the fan-out of events to every tab (fanout.py), a clean start
(startup.py), and the database's read side (store.py). No HTML is built here and no route registered."""
