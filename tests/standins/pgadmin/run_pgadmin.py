# What gunicorn serves (as in the official image): pgAdmin's app, in server mode unless the configuration says not.
import builtins

builtins.SERVER_MODE = True

from pgAdmin4 import app  # noqa: E402,F401
