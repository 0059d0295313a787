"""The guided tour (``suanli demo``): a composition of the services, agents and an in-process
API, over a fresh database. Nothing outside this package imports it but the command."""

from suanli.demo.tour import run_demo

__all__ = ["run_demo"]
