"""A batch of delivered events into the indicator cells in one store transaction, without nameko: what
the service's queue handlers and the bulk first load (childlink_insights.bulk_load) both run."""


def take_batch(store, aggregator, bodies):
    """Every event applied, the cell deltas flushed, one commit; how many the indicators count. On a
    failure the batch is rolled back and its deltas forgotten, so they cannot ride on the next batch."""
    taken = 0
    try:
        with store.batch():
            for body in bodies:
                taken += bool(aggregator.take(body))
            aggregator.flush()
    except Exception:
        aggregator.discard()
        raise
    return taken
