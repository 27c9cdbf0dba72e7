"""Lab tooling shared by the lab check and the end-to-end tests."""
