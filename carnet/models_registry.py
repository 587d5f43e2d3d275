"""Import every models module so `Base.metadata` knows all tables (Alembic, tests)."""

from carnet.auth import models as auth_models
from carnet.contracts import models as contract_models
from carnet.documents import models as document_models
from carnet.meetings import models as meeting_models
from carnet.notifications import models as notification_models
from carnet.orientation import models as orientation_models
from carnet.plan import models as plan_models
from carnet.projects import models as project_models
from carnet.records import models as record_models
from carnet.referential import models as referential_models
from carnet.security import audit, crypto, sessions
from carnet.situation import models as situation_models
from carnet.tenancy import models as tenancy_models

__all__ = [
    "audit",
    "auth_models",
    "contract_models",
    "crypto",
    "document_models",
    "meeting_models",
    "notification_models",
    "orientation_models",
    "plan_models",
    "project_models",
    "record_models",
    "referential_models",
    "sessions",
    "situation_models",
    "tenancy_models",
]
