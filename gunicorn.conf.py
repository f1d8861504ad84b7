"""gunicorn settings of an app server: ``gunicorn -c gunicorn.conf.py run:app`` (README, "Several
servers"). Every setting can be changed from the environment without editing this file."""
import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# threads keep a slow upload or mail server from holding a whole process
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# a request may take this long (a 25 MB upload on a slow line); then the worker is restarted
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# SIGTERM (a deploy, the orchestrator stopping the server): no new connections, the requests in
# flight finish within this many seconds, then the workers stop
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# the addresses of the load balancers whose X-Forwarded-* headers are trusted
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# one line per request on stdout, with the request id the app sends back (X-Request-ID)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# the app's own log lines carry the request id too (app/serving.py)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "app.serving.RequestIdFilter"}},
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
                    "datefmt": "[%Y-%m-%d %H:%M:%S %z]", "class": "logging.Formatter"},
        "app": {"format": "%(asctime)s [%(process)d] [%(levelname)s] rid=%(request_id)s %(name)s: %(message)s"},
    },
    "handlers": {  # gunicorn's own two (its defaults), and one for the app's lines
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr"},
        "app": {"class": "logging.StreamHandler", "formatter": "app", "filters": ["request_id"],
                "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["app"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
# each worker builds the app itself: database connections are never shared between processes
preload_app = False
# gunicorn's runtime control socket is off: several instances on one machine would share its
# default path, and the servers are managed by their process supervisor (GUNICORN_CONTROL_SOCKET
# names a path to turn it on)
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def post_worker_init(worker):
    """The worker has built the app: its startup objects leave the garbage collector's full
    collections (app/serving.py, ``freeze_startup_objects``)."""
    from app.serving import freeze_startup_objects

    freeze_startup_objects()
