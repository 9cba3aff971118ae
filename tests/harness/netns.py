"""Test hosts on this machine: network namespaces joined by veth links to a bridge in a
namespace of their own, with addresses from the benchmarking range 198.18.0.0/15.
Traffic goes only between the namespaces a test made; all are removed at close()."""

import os
import subprocess


def ip(*args, netns=None):
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["ip", *args]
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)


class TestHosts:
    """hosts: {"db": "198.18.0.1", ...}; each becomes namespace <prefix>-<name> with
    its address on a /24, all on one bridge."""

    def __init__(self, hosts, prefix=None):
        self.prefix = prefix or f"tr{os.getpid() % 100000}"
        self.switch = f"{self.prefix}-sw"
        self.names = {}
        self.made = []
        try:
            self._add(self.switch)
            ip("link", "add", "br0", "type", "bridge", netns=self.switch)
            ip("link", "set", "br0", "up", netns=self.switch)
            for i, (name, addr) in enumerate(hosts.items()):
                ns = f"{self.prefix}-{name}"
                self._add(ns)
                self.names[name] = ns
                host_if, switch_if = f"{self.prefix}h{i}", f"{self.prefix}s{i}"
                ip("link", "add", host_if, "type", "veth", "peer", "name", switch_if)
                ip("link", "set", host_if, "netns", ns)
                ip("link", "set", switch_if, "netns", self.switch)
                ip("link", "set", switch_if, "master", "br0", "up", netns=self.switch)
                ip("link", "set", "lo", "up", netns=ns)
                ip("addr", "add", f"{addr}/24", "dev", host_if, netns=ns)
                ip("link", "set", host_if, "up", netns=ns)
        except Exception:
            self.close()
            raise

    def _add(self, ns):
        ip("netns", "add", ns)
        self.made.append(ns)

    def ns(self, name):
        return self.names[name]

    def run(self, name, argv, **kw):
        """Runs argv inside host name; returns the CompletedProcess."""
        return subprocess.run(["ip", "netns", "exec", self.names[name], *argv],
                              capture_output=True, text=True, **kw)

    def close(self):
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.made = []
