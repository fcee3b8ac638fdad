"""NetworkPolicy enforcement on a node (networking.k8s.io/v1), as kube-router or Calico's
felix do it: an agent (agent.py, inside kube-proxy) turns the policies that select the node's
pods into iptables filter chains (model.py -> rules.py). See README.md."""
