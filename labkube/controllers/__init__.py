"""labkube.controllers: the controller-manager, one module per controller (see manager.py)."""
