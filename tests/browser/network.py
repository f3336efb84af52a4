"""What a phone's network can do to the pages' requests."""
from __future__ import annotations


def lose_answers(page, glob: str) -> list[str]:
    """From now on, each POST to a URL matching `glob` reaches the server, which acts on it, but
    its answer never arrives (the connection is reset). Returns a list that collects the
    Idempotency-Keys those requests carried. `page.unroute(glob)` ends it."""
    lost: list[str] = []

    def drop(route):
        if route.request.method != "POST":
            return route.continue_()
        route.fetch()
        lost.append(route.request.headers.get("idempotency-key"))
        return route.abort("connectionreset")

    page.route(glob, drop)
    return lost
