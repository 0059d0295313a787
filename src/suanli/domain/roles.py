"""Who may do what. Organisation-bound roles act only for their own organisation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"  # declares programs, watches burn and domestic share
    REVIEWER = "reviewer"  # approves or rejects applications and claims
    TENANT = "tenant"  # applies, quotes, submits, pays
    PROVIDER = "provider"  # registers sites and offers, gets paid
    AGENT = "agent"  # a provider's process at a site
    AUDITOR = "auditor"  # reads everything, changes nothing


ORG_BOUND_ROLES = frozenset({Role.TENANT, Role.PROVIDER, Role.AGENT})
READ_ALL_ROLES = frozenset({Role.OFFICER, Role.REVIEWER, Role.AUDITOR})


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a service: a role, and for org-bound roles, the organisation."""

    role: Role
    org_id: str | None
    token_id: str = ""
    name: str = ""  # the person or service the token was made for

    def describe(self) -> str:
        """Who acted, as a record shows it: the role and the person's name, never a token id."""
        return f"{self.role.value} {self.name}".strip() if self.name else self.role.value

    def can_read_org(self, org_id: str) -> bool:
        """Whether this caller may read an organisation's (tenant's or provider's) records.

        An agent's organisation is a site, whose id may equal some tenant's; agents read only
        their site's runs, never an organisation's records."""
        if self.role in READ_ALL_ROLES:
            return True
        return self.role in (Role.TENANT, Role.PROVIDER) and self.org_id == org_id


SYSTEM = Principal(Role.OFFICER, None, "system")
