"""Printed reports: Jinja2 HTML, CSS and shipped fonts turned into PDF by WeasyPrint (no database access here)."""
