"""The issuance fixtures of tests/signing, for verifying certificates Amanat issued."""

from tests.signing.conftest import Env, env

__all__ = ["Env", "env"]
