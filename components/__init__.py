"""redis-ha: Pulumi components and the pure renderers and settings they use."""
