"""Entry point: ``flask --app run …`` or ``python run.py``."""
from app import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host=app.config["HOST"], port=app.config["PORT"])
