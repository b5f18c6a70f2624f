"""A fresh install (nothing clinical, its first admin only) is the one the restore page may restore into."""

import pytest

from domain import fresh_install, patients, users
from domain.access import system
from domain.errors import NotAllowed
from domain.models import PatientCreate, Role, UserCreate
from domain.settings import Settings
from tests.conftest import PASSWORD, Clinic


def test_an_install_with_its_first_admin_only_is_fresh(database: Settings) -> None:
    users.create(UserCreate(username='admin', role=Role.ADMIN.value, password=PASSWORD), by=system('test'))

    assert fresh_install.is_fresh(by=system('test'))
    fresh_install.require_fresh(by=system('test'))


def test_a_second_account_or_a_patient_ends_freshness(database: Settings) -> None:
    users.create(UserCreate(username='admin', role=Role.ADMIN.value, password=PASSWORD), by=system('test'))
    patients.register(
        PatientCreate(family_name='Doe', given_name='Jane', birth_date='1980-01-01', sex='F'), by=system('test')
    )

    assert not fresh_install.is_fresh(by=system('test'))
    with pytest.raises(fresh_install.NotFresh):
        fresh_install.require_fresh(by=system('test'))


def test_only_an_admin_may_ask(clinic: Clinic) -> None:
    assert not fresh_install.is_fresh(by=clinic.admin.actor)  # four accounts
    with pytest.raises(NotAllowed):
        fresh_install.is_fresh(by=clinic.technician.actor)
