"""Import the Ministry of Public Health's 43-file standard (v2.4) into childlink as health events.

`childlink-import-43 DIR --department health --url URL --api-key KEY`: see cli.py and docs/import-43.md.
"""
