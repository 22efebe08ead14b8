"""The bus every process shares: its contract (topics and typed messages), the client that
speaks it, the settings that locate it, CURVE keys for crossing machines, and the start-up
each process does. The broker's own devices live in `broker/`, not here."""
