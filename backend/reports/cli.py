"""CLI: flask --app wsgi remind-reports [--unit ID]."""
from __future__ import annotations

import click


def register(app) -> None:
    @app.cli.command("remind-reports")
    @click.option("--unit", type=int, default=None, help="only this unit's roster")
    def remind_reports_cmd(unit):
        """Record 双报到 reminders for roster members not (or long ago) reported."""
        from backend.reports.jobs import remind_unreported

        click.echo(f"reminders recorded: {remind_unreported(unit)}")
