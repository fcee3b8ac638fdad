"""Test helper: a throw-away CA with a 127.0.0.1 serving cert and a client cert
(now in `labkube.testing`, shared with bench/scale.py)."""
from labkube.testing import make_pki

__all__ = ["make_pki"]
