"""The Django project of the DRF session target: settings, URLs and the session views."""
