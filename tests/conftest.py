"""Shared by every test directory. Being here, this file puts tests/ on sys.path (pytest's
default `prepend` import mode adds a conftest's directory), so unit and integration tests
import the tests-wide helpers by name: `from terminal import on_a_terminal`."""
