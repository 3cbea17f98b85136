"""Calls to the referral service (docs/referral-interface.md), through `rpc_client.RpcClient`: a page
never sees an exception from here."""

from childlink_common import assertions

from .rpc_client import RpcClient


class ReferralClient(RpcClient):
    service = "referral"
    label = "the referral service"
    not_offered = "(yet)"

    def list_referrals(self, viewer, filters, page, page_size):
        return self._call("list_referrals", viewer, filters, page, page_size)

    def get_referral(self, viewer, referral_id):
        return self._call("get_referral", viewer, referral_id)

    def act_on_referral(self, viewer, referral_id, action, fields, expected_version):
        return self._call("act_on_referral", viewer, referral_id, action, fields, expected_version)

    def child_page(self, viewer, child_id):
        return self._call("child_page", viewer, child_id)

    def search_children(self, viewer, query):
        return self._call("search_children", viewer, query)

    # --- identity resolution (registrar) ---------------------------------------------------------------
    # The referral service takes identity calls only with a signed assertion of the signed-in user
    # (childlink_referral.identity_callers); `assertion_key` None (unit tests with the fake) sends none.

    assertion_key = None

    def _asserted(self, viewer):
        if not self.assertion_key:
            return viewer
        return {**viewer, "assertion": assertions.sign(viewer, self.assertion_key)}

    def list_identity_reviews(self, viewer, status, page, page_size):
        return self._call("list_identity_reviews", self._asserted(viewer), status, page, page_size)

    def get_identity_review(self, viewer, review_id):
        return self._call("get_identity_review", self._asserted(viewer), review_id)

    def decide_identity_review(self, viewer, review_id, decision, reason, expected_version):
        return self._call("decide_identity_review", self._asserted(viewer), review_id, decision, reason, expected_version)

    def merges_of_child(self, viewer, child_id):
        return self._call("merges_of_child", self._asserted(viewer), child_id)

    def undo_merge(self, viewer, merge_id, reason, expected_version):
        return self._call("undo_merge", self._asserted(viewer), merge_id, reason, expected_version)
