from django.urls import path

from integrations.erp.api import api

urlpatterns = [path("", api.urls)]
