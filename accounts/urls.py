from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("my/", views.my_polls, name="my-polls"),
    path("accounts/signup/", views.signup, name="signup"),
]
