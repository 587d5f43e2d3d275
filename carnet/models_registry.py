"""Import every models module so `Base.metadata` knows all tables (Alembic, tests)."""

from carnet.auth import models as auth_models
from carnet.notifications import models as notification_models
from carnet.records import models as record_models
from carnet.security import audit, crypto, sessions
from carnet.tenancy import models as tenancy_models

__all__ = ["audit", "auth_models", "crypto", "notification_models", "record_models", "sessions",
           "tenancy_models"]
