"""The clinic: tables, services, events and audit. Imports none of ui, dicom, jobs or reports."""
