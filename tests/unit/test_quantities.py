"""The catalogue of sphere quantities (magcore/quantities.py) is the one home of each quantity:
the store's variables and attributes come from it, the docs table is generated from it, and
its "NaN where" entries are true on real maps."""

import pytest

from conftest import REPO
from magcore.quantities import BY_NAME, SPHERE_QUANTITIES, docs_table, units_of
from magcore.sphere import FLAG_MASKS, FLAG_MEANINGS
from test_numerical_honesty import STUDIES, point_nan

BIT = dict(zip(FLAG_MEANINGS.split(), FLAG_MASKS))
PRIMARY = ("gap_closed", "near_degenerate_k_points", "non_finite_k_sums", "fermi_surface_unresolved")


def test_docs_table_is_generated_from_the_catalogue():
    text = (REPO / "docs" / "physics.md").read_text()
    begin, end = "<!-- begin generated: sphere quantities -->\n", "\n<!-- end generated: sphere quantities -->"
    assert text.split(begin)[1].split(end)[0] == docs_table(), "run python -m magcore.quantities"


def test_every_declared_flag_exists_and_names_are_unique():
    assert len(BY_NAME) == len(SPHERE_QUANTITIES)
    for q in SPHERE_QUANTITIES:
        assert set(q.nan_where) <= set(BIT), q.name
        assert q.sum in ("Fermi sea", "Fermi surface", "sea and surface", "derived", "-") and q.parity in "-evenodd"


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_store_variables_and_nan_pattern_follow_the_catalogue(study):
    ds = STUDIES[study]()
    assert set(ds.data_vars) - {"flag", "min_gap"} == set(BY_NAME)
    from magcore.models import get_model

    units = units_of(get_model(ds.attrs["model"]))
    flag = ds.flag.values
    for q in SPHERE_QUANTITIES:
        assert ds[q.name].dims == ("theta", "phi") + q.dims
        assert ds[q.name].attrs == q.attrs(units), q.name
        if ds[q.name].dtype.kind != "f":
            continue
        nan = point_nan(ds[q.name])
        declared = sum(BIT[b] for b in q.nan_where)
        assert not (nan & ((flag & declared) == 0)).any(), f"{q.name}: NaN where none of its flags is set"
        for b in set(PRIMARY) & set(q.nan_where):
            assert nan[(flag & BIT[b]) != 0].all(), f"{q.name}: not NaN where {b} is set"
