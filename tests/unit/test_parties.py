"""Related parties: affiliation is symmetric, and a shared owner or parent always affiliates
(seeded Hypothesis); Beijing's non-affiliated rule refuses a provider in the tenant's group."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.domain.parties import Parties, affiliation, check_parties
from suanli.domain.registry import Provider
from suanli.domain.subsidy import compute_subsidy
from suanli.domain.subsidy_checks import provider_refusals
from suanli.errors import ValidationError
from suanli.services.programs import get_program
from tests.unit.programs_helpers import acc, contract, tenant

NAMES = st.sampled_from(["a", "b", "c", "d", "e", "f", "holdco", "li-ming", "wang-fang"])


@st.composite
def parties(draw: st.DrawFn, org_id: str | None = None) -> Parties:
    return Parties(
        org_id or draw(NAMES),
        draw(st.none() | NAMES),
        tuple(draw(st.sets(NAMES, max_size=3))),
        tuple(draw(st.sets(NAMES, max_size=3))),
    )


@settings(derandomize=True, max_examples=500, deadline=None)
@given(parties(), parties())
def test_affiliation_is_symmetric(a: Parties, b: Parties) -> None:
    assert bool(affiliation(a, b)) == bool(affiliation(b, a))


@settings(derandomize=True, max_examples=300, deadline=None)
@given(parties(org_id="tenant-x"), parties(org_id="provider-y"), NAMES)
def test_a_shared_owner_always_affiliates(a: Parties, b: Parties, owner: str) -> None:
    a = dataclasses.replace(a, beneficial_owners=(*a.beneficial_owners, owner))
    b = dataclasses.replace(b, beneficial_owners=(owner, *b.beneficial_owners))
    assert affiliation(a, b) and affiliation(b, a)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(parties(org_id="tenant-x"), parties(org_id="provider-y"), NAMES)
def test_a_shared_parent_or_being_the_parent_always_affiliates(
    a: Parties, b: Parties, parent: str
) -> None:
    shared = (dataclasses.replace(a, parent_id=parent), dataclasses.replace(b, parent_id=parent))
    assert affiliation(*shared) and affiliation(*reversed(shared))
    owned = dataclasses.replace(b, parent_id=a.org_id)
    assert affiliation(a, owned) and affiliation(owned, a)


def test_unrelated_organisations_are_not_affiliated() -> None:
    a = Parties("tenant-x", "group-1", ("li-ming",), ("someone-else",))
    b = Parties("provider-y", "group-2", ("wang-fang",), ())
    assert affiliation(a, b) == "" == affiliation(b, a)
    assert "share the beneficial owner li-ming" in affiliation(
        a, dataclasses.replace(b, beneficial_owners=("li-ming",))
    )


@pytest.mark.parametrize(
    ("parent", "owners", "related", "field"),
    [
        ("tenant-x", (), (), "parent_id"),
        (" ", (), (), "parent_id"),
        (None, ("li-ming", "li-ming"), (), "beneficial_owners"),
        (None, ("",), (), "beneficial_owners[0]"),
        (None, (), ("x" * 65,), "related_parties[0]"),
    ],
)
def test_bad_ownership_names_the_field(
    parent: str | None, owners: tuple[str, ...], related: tuple[str, ...], field: str
) -> None:
    with pytest.raises(ValidationError) as bad:
        check_parties("tenant-x", parent, owners, related)
    assert bad.value.field == field


def test_beijing_refuses_a_provider_sharing_the_tenants_owner() -> None:
    program = get_program("beijing-2023")
    owned = tenant(beneficial_owners=("li-ming",))
    c = contract(provider_beneficial_owners=("li-ming",))
    d = compute_subsidy(program, owned, c, acc("910B"))
    refused = [v for v in d.reasons if not v.passed]
    assert not d.eligible and [v.check for v in refused] == ["related-parties"]
    assert "share the beneficial owner li-ming" in refused[0].reason
    sister = Provider("bj-zhongguancun-dc", "ZGC DC", "Beijing", parent_id="acme-group")
    why = provider_refusals(program, tenant(parent_id="acme-group"), sister)
    assert why == (
        "related-parties: provider bj-zhongguancun-dc is affiliated with the applicant "
        "(acme-ai and bj-zhongguancun-dc share the parent acme-group)",
    )
    assert provider_refusals(program, tenant(), sister) == ()
