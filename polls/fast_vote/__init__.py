"""The vote route ahead of Django's view stack: group-committed votes on PostgreSQL."""
