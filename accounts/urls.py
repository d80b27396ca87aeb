from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/verify/<str:token>", views.verify_email, name="verify-email"),
    path("accounts/verify-again", views.verify_email_again, name="verify-email-again"),
    path("accounts/tokens/", views.api_tokens, name="tokens"),
    path("accounts/tokens/<int:token_id>/revoke", views.api_token_revoke, name="token-revoke"),
]
