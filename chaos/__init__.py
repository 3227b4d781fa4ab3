"""entchaos: resilience runbooks and chaos engineering for an ENT stack over two datacenters."""

__version__ = "0.1.0"
