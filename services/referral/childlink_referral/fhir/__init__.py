"""FHIR R4 export of a child's record: `$everything` for one child, bulk NDJSON per district (docs/fhir.md)."""
