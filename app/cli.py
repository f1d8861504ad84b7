"""``flask portal …``: setup (permissions, roles, statuses) and demo data."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

portal_cli = AppGroup("portal", help="Key account portal administration.")


@portal_cli.command("setup")
def setup_command() -> None:
    """Sync permissions, apply the declared roles, seed the statuses (idempotent)."""
    from app.security.roles import apply_roles
    from app.seed import seed_statuses

    appbuilder = current_app.appbuilder
    appbuilder.sm.create_db()  # FAB's Admin/Public roles
    appbuilder.add_permissions(update_perms=True)
    counts = apply_roles(appbuilder.sm)
    added = seed_statuses()
    for role, n in counts.items():
        click.echo(f"role {role}: {n} permissions")
    if added:
        click.echo(f"statuses: {added} added")


@portal_cli.command("demo")
def demo_command() -> None:
    """Load demo data into a database without companies and print the logins."""
    from app.seed import load_demo_data

    logins = load_demo_data()
    if logins is None:
        click.echo("Demo data not loaded: the database already has companies.")
        return
    click.echo("Demo logins:")
    for role, email, password in logins:
        click.echo(f"  {role:<45} {email:<42} {password}")


def register_cli(app) -> None:
    app.cli.add_command(portal_cli)
