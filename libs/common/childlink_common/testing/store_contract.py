"""The shape every storage contract suite shares (tests/storage): one class of promises, one subclass per
adapter. Test code only (it imports pytest)."""

import abc

import pytest


class StoreContract(abc.ABC):
    """Subclasses say how to open their adapter (`open_store(request)`); every test of the contract then
    runs once per adapter, each on a store of its own, closed afterwards."""

    @abc.abstractmethod
    def open_store(self, request):
        """A fresh store of this adapter for one test."""

    @pytest.fixture
    def store(self, request):
        store = self.open_store(request)
        yield store
        store.close()
