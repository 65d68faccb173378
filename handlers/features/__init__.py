"""One room per feature: each module or package declares its `FEATURE`, assembled by
handlers/routes.py. Features do not import each other except the exceptions named in
pyproject.toml (import-linter). `buttons` is no feature: the payload classes of buttons that
several rooms send, importing only the kit."""
