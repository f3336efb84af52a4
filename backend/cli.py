"""CLI: flask --app wsgi seed-demo | grant-role | drain-outbox | worker."""
from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from backend.extensions import db


def register_cli(app) -> None:  # noqa: C901  (one place for all commands)
    @app.cli.command("seed-demo")
    def seed_demo_cmd():
        """Create the demo city (once)."""
        from backend.seed import seed_demo

        click.echo("demo city created" if seed_demo() else "demo city already present")

    @app.cli.command("grant-role")
    @click.argument("openid")
    @click.argument("role")
    @click.option("--community", type=int, default=None)
    @click.option("--unit", type=int, default=None)
    @click.option("--street", type=int, default=None)
    def grant_role_cmd(openid, role, community, unit, street):
        """Grant ROLE to the user with OPENID."""
        from backend.auth.models import User
        from backend.auth.services import grant_role
        from backend.errors import DomainError

        user = db.session.scalar(select(User).where(User.openid == openid))
        if user is None:
            raise click.ClickException(f"no user with openid {openid}")
        try:
            g = grant_role(None, user.id, role, community_id=community, unit_id=unit, street_id=street)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message} {exc.details}")
        db.session.commit()
        click.echo(f"granted {g.as_dict()} to user {user.id}")

    @app.cli.command("drain-outbox")
    def drain_cmd():
        """Push waiting outbox jobs to RQ."""
        from backend.jobs import drain

        click.echo(f"pushed {drain(current_app._get_current_object())}")

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True)
    def worker_cmd(burst):
        """Run an RQ worker (with RQ's scheduler) on the app's queue."""
        from backend.jobs.worker import run_worker

        run_worker(current_app._get_current_object(), burst=burst)

    @app.cli.command("cron")
    def cron_cmd():
        """Run RQ's cron scheduler for every domain's periodic jobs."""
        from backend.jobs.worker import run_cron

        run_cron(current_app._get_current_object())

    from backend.reports.cli import register as register_reports_cli; register_reports_cli(app)  # noqa: E702
