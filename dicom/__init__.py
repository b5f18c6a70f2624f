"""DICOM networking and pixels: SCP handlers, storage layout, parsing, rendering, DICOMweb."""
