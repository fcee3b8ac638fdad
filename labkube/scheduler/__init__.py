"""labkube.scheduler: assigns pending pods to nodes (framework, queue, one module per plugin)."""
