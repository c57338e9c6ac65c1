import os

from django.core.wsgi import get_wsgi_application

from config.directories import ensure_sqlite_directories

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
ensure_sqlite_directories()  # the SQLite file's folder, before the first request connects
application = get_wsgi_application()
