"""Training: the loop (a generator of statistics), rollback, the run's log, evaluation, the device."""
