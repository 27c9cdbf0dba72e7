"""Failover drill and benchmark for a running redis-ha cluster (``python -m drill --help``)."""
