"""labctl: provision machines and deploy a Kubernetes-style lab cluster onto them."""
__version__ = "0.1.0"
