"""childlink's contracts: the envelope, one schema per event type and version, the Thai national-ID check."""

from .content import canonical_content, content_hash, event_key
from .national_id import is_valid_national_id, with_check_digit
from .registry import EVENT_TYPES, INGEST_DEPARTMENTS, REGISTRY, lookup, types_of
from .validation import ContractError, flatten, new_event_id, validate_event

__all__ = [
    "EVENT_TYPES", "INGEST_DEPARTMENTS", "REGISTRY", "ContractError", "canonical_content", "content_hash",
    "event_key", "flatten", "is_valid_national_id",
    "lookup", "new_event_id", "types_of", "validate_event", "with_check_digit",
]
