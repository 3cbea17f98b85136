"""Calls to the monitor service, through `rpc_client.RpcClient`: an RPC that fails, times out or is not
offered becomes `{"ok": False, "error": {...}}`, never an exception. Calls whose answer is not already in
the ok/error shape (overview, flow, replays) are wrapped as `{"ok": True, "value": ...}`.
"""

from ..rpc_client import RpcClient


class MonitorClient(RpcClient):
    service = "monitor"
    label = "the monitor"
    not_offered = "(is it running?)"

    def overview(self):
        return self._call("overview", wrap=True)

    def flow(self, department, type_, minutes, bucket_minutes):
        return self._call("flow", department, type_, minutes, bucket_minutes, wrap=True)

    def dead_letters(self, filters, page, page_size):
        return self._call("dead_letters", filters, page, page_size)

    def dead_letter(self, dl_id, viewer, raw=False):
        return self._call("dead_letter", dl_id, viewer, raw)

    def replay(self, viewer, dl_ids=None, filters=None):
        return self._call("replay", viewer, dl_ids, filters)

    def discard(self, viewer, reason, dl_ids=None, filters=None):
        return self._call("discard", viewer, reason, dl_ids, filters)

    def replays(self, limit=50):
        return self._call("replays", limit, wrap=True)
