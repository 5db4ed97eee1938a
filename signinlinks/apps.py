from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigninLinksConfig(AppConfig):
    name = "signinlinks"
    verbose_name = _("Sign-in links")
