"""Calls to the insights service through `rpc_client.RpcClient`: a failure, a time-out or a refusal
becomes `{"ok": False, "error": {...}}`; the service answers `{"ok": True, "value": ...}`."""

from ..rpc_client import RpcClient


class InsightsClient(RpcClient):
    service = "insights"
    label = "the insights service"
    not_offered = "(is it running?)"

    def definitions(self):
        return self._call("definitions")

    def overview(self, indicator, month):
        return self._call("overview", indicator, month)

    def scope_page(self, scope, scope_id, month):
        return self._call("scope_page", scope, scope_id, month)

    def members(self, district, kind):
        return self._call("members", district, kind)
