"""kubelet package."""
