"""The operators' console in the gateway: message flows, alerts, dead letters with replay and discard.

Pages over the monitor service's RPC (monitor_client), drawn on the server (charts: SVG, no script),
in Thai and English (messages/*.json layered over the gateway's catalogues). No child data is ever
shown here: the monitor answers with ids, types, counts and times, and redacts message bodies.
"""
