"""Signal receivers: a browser's anonymous polls move to the account it signs in to."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from polls.services import poll_claim_for_browser


@receiver(user_logged_in, dispatch_uid="accounts.claim_browser_polls")
def claim_browser_polls(sender, request, user, **kwargs):
    # Sign-up logs the new user in, so both paths arrive here. A login without a browser
    # (a test client's force_login, the admin shell) has no token and claims nothing.
    token = getattr(request, "voter_token", "") if request is not None else ""
    poll_claim_for_browser(user=user, token=token)
