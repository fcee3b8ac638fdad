"""The kubelet's image store: references, OCI archive import, unpacked root filesystems."""
from .reference import normalize_ref, parse_ref, Reference

__all__ = ["normalize_ref", "parse_ref", "Reference"]
