"""The Django project of the DRF target: settings and URLs."""
