"""Imports every actor module so each kind of job has its actor declared on the broker."""
