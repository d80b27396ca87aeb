from tests.faults.services import private_postgres, private_redis  # noqa: F401
