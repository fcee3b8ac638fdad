"""Applying PATCH bodies by Content-Type: merge, JSON, strategic merge, apply (basic)."""
from __future__ import annotations

from ..errors import ApiError, unsupported_media
from .jsonpatch import PatchError, json_patch
from .merge import merge_patch
from .strategic import merge_map

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON, MERGE, STRATEGIC, APPLY)


def apply_patch(content_type: str, original: dict, patch, owned: bool = False) -> dict:
    """The patched object; ApiError 415 for unknown types, 422 for patches that do not apply.
    owned: the patch was decoded for this call alone (a merge patch, or a strategic merge patch of
    plain values without directives, then puts its values into the result uncopied; the other types
    copy as before)."""
    try:
        if content_type == MERGE:
            if not isinstance(patch, dict):
                raise PatchError("merge patch must be a JSON object")
            return merge_patch(original, patch, owned)
        if content_type == JSON:
            return json_patch(original, patch)
        if content_type in (STRATEGIC, APPLY):
            return merge_map(original, patch, owned and content_type == STRATEGIC)
    except PatchError as e:
        raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}") from e
    except (TypeError, AttributeError, KeyError) as e:
        raise ApiError(422, "Invalid", f"the patch could not be applied: {e}") from e
    raise unsupported_media(content_type)


__all__ = ["APPLY", "JSON", "MERGE", "PATCH_TYPES", "STRATEGIC", "apply_patch"]
