"""``flask portal …``: setup (permissions, roles, statuses), demo data, mail, quotes, storage."""
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

    from app.serving import freeze_startup_objects
    from app.services.worker import run_worker

    freeze_startup_objects()
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


@portal_cli.command("expire-keys")
def expire_keys_command() -> None:
    """Delete the new-order keys (API Idempotency-Key, form tokens) older than IDEMPOTENCY_TTL_HOURS
    (run it daily from cron; an expired key is never used, this only keeps the table small)."""
    from app.services.idempotency import forget_expired

    click.echo(f"idempotency keys: {forget_expired()} expired keys deleted")


@portal_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Count what would be anonymised and deleted, change nothing.")
def retention_command(dry_run: bool) -> None:
    """Anonymise the personal data of orders closed longer than RETENTION_MONTHS ago (public-form
    orders: RETENTION_PUBLIC_MONTHS) and delete audit entries older than AUDIT_RETENTION_MONTHS.
    Run it daily from cron; a run that stops goes on where it stopped the next time."""
    import time

    from app.services import retention

    limits = retention.cutoffs()
    click.echo(f"retention: orders closed before {limits.orders:%Y-%m-%d}, public-form orders closed before "
               f"{limits.public_orders:%Y-%m-%d}, audit entries before {limits.audit:%Y-%m-%d}")
    started = time.monotonic()
    if dry_run:
        counts = retention.plan()
        verb = "would anonymise"
    else:
        counts = retention.run(progress=lambda c: click.echo(
            f"  {c.orders + c.public_orders} orders anonymised ...", err=True))
        verb = "anonymised"
    click.echo(f"retention: {verb} {counts.orders} orders and {counts.public_orders} public-form orders "
               f"({counts.messages} messages, {counts.files} files, {counts.mails} mails, "
               f"{counts.audit_values} audit entries' values); {counts.audit_pruned} old audit entries "
               f"{'to delete' if dry_run else 'deleted'}; {counts.exports} expired data exports "
               f"{'to delete' if dry_run else 'deleted'} ({time.monotonic() - started:.1f} s)")


@portal_cli.command("reset-two-factor")
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """Reset the second factor of the user with EMAIL (e.g. a staff member or an Admin who lost their phone
    and their recovery codes; company users are reset in the backend). Audited; the user is mailed."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import PortalUser
    from app.services import two_factor

    user = db.session.scalars(select(PortalUser).where(func.lower(PortalUser.email) == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user with the email {email!r}.")
    if not two_factor.is_enabled(user):
        click.echo(f"{user.email} has no two-factor login: nothing to reset.")
        return
    two_factor.reset(user, actor=None)
    db.session.commit()
    click.echo(f"Two-factor login of {user.email} reset; they were mailed."
               + (" It is required for them: they set it up again at their next login." if two_factor.is_required(user)
                  else ""))


storage_cli = AppGroup("storage", help="Attachment files in the local folder or object storage.")
portal_cli.add_command(storage_cli)


@storage_cli.command("prune")
@click.option("--older-than", "minutes", type=click.IntRange(min=0), default=60, show_default=True,
              help="Only files written at least this many minutes ago.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
def storage_prune_command(minutes: int, dry_run: bool) -> None:
    """Delete stored files that no attachment names (left by a server killed between storing an
    upload and saving its order). Run it daily from cron; files younger than --older-than stay,
    as they may belong to an order being saved right now."""
    import datetime as dt

    from app.services.storage import get_storage
    from app.services.storage_migration import prune

    deleted, kept = prune(get_storage(), dt.timedelta(minutes=minutes), dry_run=dry_run)
    for name in deleted:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {name}", err=True)
    click.echo(f"storage: {len(deleted)} files without attachment {'to delete' if dry_run else 'deleted'}, "
               f"{kept} younger ones kept")


@storage_cli.command("migrate")
def storage_migrate_command() -> None:
    """Copy the files of UPLOAD_FOLDER into the bucket S3_BUCKET (under S3_PREFIX), each verified by
    checksum. Files already there with the same checksum are skipped: run it again after a stop and
    it continues; run it once more after switching to FILE_STORAGE=s3 to catch late uploads."""
    from app.services.storage import local_storage, s3_storage
    from app.services.storage_migration import migrate

    if not current_app.config.get("S3_BUCKET"):
        raise click.UsageError("Set S3_BUCKET (and S3_ENDPOINT_URL, S3_REGION, S3_PREFIX as needed) to the "
                               "bucket the files are copied into.")
    source, target = local_storage(), s3_storage()
    click.echo(f"copying {source.folder} to s3://{target.bucket}/{target.prefix}")
    result = migrate(source, target, echo=lambda message: click.echo(message, err=True))
    click.echo(f"storage: {result.copied} copied, {result.skipped} already there, {len(result.failed)} failed, "
               f"{len(result.missing)} missing")
    if result.failed:
        raise SystemExit(1)


def register_cli(app) -> None:
    app.cli.add_command(portal_cli)
