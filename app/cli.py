"""``flask portal …``: setup (permissions, roles, statuses) and demo data."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

portal_cli = AppGroup("portal", help="Key account portal administration.")


def setup_installation() -> tuple[dict[str, int], int]:
    """FAB's Admin/Public roles, every view's permissions, the declared roles, the statuses.

    Idempotent; run after the migrations. Returns permissions per role and statuses added.
    """
    from app.security.roles import apply_roles
    from app.seed import seed_statuses

    appbuilder = current_app.appbuilder
    appbuilder.sm.create_db()
    appbuilder.add_permissions(update_perms=True)
    return apply_roles(appbuilder.sm), seed_statuses()


@portal_cli.command("setup")
def setup_command() -> None:
    """Sync permissions, apply the declared roles, seed the statuses (idempotent)."""
    counts, added = setup_installation()
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




@portal_cli.command("send-mail")
def send_mail_command() -> None:
    """Send queued mail that is due (run it from cron: failed mails are retried with backoff)."""
    from app.services.mail import deliver_pending

    total_sent = total_failed = 0
    while True:
        sent, failed = deliver_pending()
        total_sent, total_failed = total_sent + sent, total_failed + failed
        if sent + failed == 0 or sent == 0:
            break
    click.echo(f"mail: {total_sent} sent, {total_failed} failed")


@portal_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
def worker_command(once: bool) -> None:
    """Deliver queued mail and webhook events in the background (MAIL_DELIVERY=worker): run one or
    more per installation, on any server; each mail and event goes out once. SIGTERM or Ctrl-C: what
    is being sent is finished, then the worker stops."""
    import signal

    from flask import current_app

    from app.services.worker import run_worker

    stopping = []

    def stop(signum, _frame):
        stopping.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    click.echo(f"worker: delivering mail and webhooks (looking every {current_app.config['WORKER_POLL_SECONDS']} s)")
    sent, failed = run_worker(current_app.config["WORKER_POLL_SECONDS"], lambda: bool(stopping), once=once)
    click.echo(f"worker: stopped; {sent} sent, {failed} failed")


@portal_cli.command("quotes")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as on this day (YYYY-MM-DD); default: today.")
def quotes_command(today) -> None:
    """Quote deadlines (run it daily from cron; running it again mails nothing twice): reminds the
    customers of quotes that expire soon and tells staff of quotes that expired undecided."""
    from app.services.mail import deliver_pending
    from app.services.quotes import run_deadlines

    counts = run_deadlines(today.date() if today else None)
    deliver_pending()
    click.echo(f"quotes: {counts['reminded']} reminded, {counts['expired']} expired")


def register_cli(app) -> None:
    app.cli.add_command(portal_cli)
