"""Writing the audit log; called by the services that act, inside their transaction."""

from audit.models import Action, AuditEntry

SYSTEM = "Tally"


def actor_label(actor) -> str:
    if actor is None:
        return SYSTEM
    if getattr(actor, "is_authenticated", False):
        label = actor.get_username()
        return f"{label} (staff)" if actor.is_staff else label
    return "the poll's creator (signed out)"


def audit_record(
    *, actor, action: Action, object_type: str, object_id, object_label: str = "", **details
) -> AuditEntry:
    """Add one entry. actor: the user who acted, AnonymousUser for a signed-out owner, None
    for Tally itself."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=object_label[:200],
        details=details,
    )
