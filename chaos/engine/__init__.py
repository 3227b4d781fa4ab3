"""Running a runbook: plan, engine, steps, journal, lock, signals, watcher, impact figures, recover."""
