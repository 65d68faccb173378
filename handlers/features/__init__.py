"""One room per feature: each module or package declares its `FEATURE`, assembled by
handlers/routes.py. Features do not import each other except the exceptions named in
pyproject.toml (import-linter)."""
