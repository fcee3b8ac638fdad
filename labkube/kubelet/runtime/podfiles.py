"""The per-pod files bind mounted into every container: /etc/hosts, /etc/resolv.conf, /etc/hostname."""
from __future__ import annotations

import os


def hosts_file(hostname: str, pod_ips: list[str], host_aliases: list | None = None,
               subdomain_fqdn: str | None = None) -> str:
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
             "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    for ip in pod_ips:
        lines.append(f"{ip}\t{subdomain_fqdn}\t{hostname}" if subdomain_fqdn else f"{ip}\t{hostname}")
    if host_aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        for a in host_aliases:
            lines.append(f"{a.get('ip')}\t" + "\t".join(a.get("hostnames") or []))
    return "\n".join(lines) + "\n"


def resolv_conf(nameservers: list[str], searches: list[str], options: list[str]) -> str:
    out = [f"nameserver {ns}" for ns in nameservers]
    if searches:
        out.append("search " + " ".join(searches))
    if options:
        out.append("options " + " ".join(options))
    return "\n".join(out) + "\n"


def node_resolv_conf(path: str = "/etc/resolv.conf") -> tuple:
    """(nameservers, searches, options) of the node itself (dnsPolicy Default)."""
    ns, search, opts = [], [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    ns.append(parts[1])
                elif parts and parts[0] in ("search", "domain"):
                    search = parts[1:]
                elif parts and parts[0] == "options":
                    opts += parts[1:]
    except OSError:
        pass
    return ns, search, opts


def cluster_dns_settings(namespace: str, cluster_dns: list[str], cluster_domain: str,
                         dns_policy: str = "ClusterFirst", dns_config: dict | None = None) -> tuple:
    """(nameservers, searches, options) for a pod, after Kubernetes' dnsPolicy rules."""
    if dns_policy == "None":
        ns, search, opts = [], [], []
    elif dns_policy == "Default":
        ns, search, opts = node_resolv_conf()
    elif cluster_dns and dns_policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        ns = list(cluster_dns)
        search = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
        opts = ["ndots:5"]
    else:
        ns, search, opts = [], [], []
    dc = dns_config or {}
    ns += [n for n in dc.get("nameservers") or [] if n not in ns]
    search += [s for s in dc.get("searches") or [] if s not in search]
    for o in dc.get("options") or []:
        opt = o.get("name", "") + (f":{o['value']}" if o.get("value") else "")
        opts = [x for x in opts if x.split(":")[0] != o.get("name")] + [opt]
    return ns, search, opts


def write_pod_files(pod_dir: str, hostname: str, pod_ips: list[str], nameservers: list[str],
                    searches: list[str], options: list[str], host_aliases: list | None = None) -> None:
    os.makedirs(pod_dir, exist_ok=True)
    files = {"hosts": hosts_file(hostname, pod_ips, host_aliases),
             "resolv.conf": resolv_conf(nameservers, searches, options),
             "hostname": hostname + "\n"}
    for name, text in files.items():
        tmp = os.path.join(pod_dir, f".{name}.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(pod_dir, name))
