"""EM weights from the register alone (no labels), with reviewers' decisions as labels when present."""

import datetime as dt

import pytest
from childlink_referral.matching.em import estimate_unsupervised
from childlink_referral.matching.estimate import estimate
from childlink_tools.identity_errors import generate_identity_dataset

FIXED_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture(scope="module")
def dataset():
    return generate_identity_dataset(1500, seed=31, now=FIXED_NOW)


@pytest.fixture(scope="module")
def em_table(dataset):
    return estimate_unsupervised([r.subject for r in dataset.records], seed=31, random_pairs=40_000)


def test_em_without_labels_finds_what_counting_on_labels_finds(dataset, em_table):
    table, share, pairs = em_table
    counted, _, _ = estimate(dataset, non_pairs=40_000, seed=31)
    assert pairs > len(dataset.records) and 0 < share < 0.5
    for field in ("given_name", "family_name", "birth_date", "guardian_phone"):
        for level in ("exact", "different"):
            m_em, m_counted = table[field][level][0], counted[field][level][0]
            assert abs(m_em - m_counted) < 0.1, (field, level, m_em, m_counted)
    assert table["birth_date"]["exact"][0] > 0.8 and table["given_name"]["different"][0] < 0.05


def test_reviewers_decisions_are_labels_that_move_the_estimate(dataset):
    subjects = [r.subject for r in dataset.records]
    by_child = dataset.records_by_child()
    same = [records for records in by_child.values() if len(records) > 1]
    position = {r.record_id: i for i, r in enumerate(dataset.records)}
    pairs = [tuple(sorted((position[rs[0].record_id], position[rs[1].record_id]))) for rs in same]
    _, free_share, _ = estimate_unsupervised(subjects, seed=31, random_pairs=20_000)
    # reviewers linked these pairs: as labels, EM's m comes close to what counting on labels gives
    linked, linked_share, _ = estimate_unsupervised(subjects, seed=31, random_pairs=20_000,
                                                    decisions=dict.fromkeys(pairs, True))
    counted, _, _ = estimate(dataset, non_pairs=20_000, seed=31)
    for field in ("given_name", "birth_date", "guardian_phone"):
        assert abs(linked[field]["exact"][0] - counted[field]["exact"][0]) < 0.05, field
    # had they kept every such pair apart, far fewer blocked pairs would be taken as one child
    _, apart_share, _ = estimate_unsupervised(subjects, seed=31, random_pairs=20_000,
                                                  decisions=dict.fromkeys(pairs, False))
    assert apart_share < free_share / 2 and linked_share >= free_share * 0.9
