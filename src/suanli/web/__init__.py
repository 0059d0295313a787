"""The web dashboard: server-rendered pages for officers, tenants, providers and auditors.

An adapter like the API and the CLI: it calls the services and the core, never another
adapter. ``mount`` adds its pages and static files to the application the API builds.
"""

from suanli.web.routes import mount

__all__ = ["mount"]
