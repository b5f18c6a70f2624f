"""Small DICOM files with known pixel values, written with pydicom for the viewer's tests."""

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2'
SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7'
US_MULTIFRAME = '1.2.840.10008.5.1.4.1.1.3.1'


def write_image(
    path: Path,
    pixels: np.ndarray,
    *,
    photometric: str = 'MONOCHROME2',
    sop_class: str = CT_IMAGE,
    study_uid: str | None = None,
    series_uid: str | None = None,
    **attributes: Any,
) -> Path:
    """Write pixels (rows × columns, frames × rows × columns, or … × 3 for colour) as a DICOM file."""
    colour = photometric in ('RGB', 'YBR_FULL')
    frames = pixels.shape[0] if pixels.ndim == (4 if colour else 3) else 1
    rows, columns = pixels.shape[-3:-1] if colour else pixels.shape[-2:]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = attributes.pop('SOPInstanceUID', generate_uid())
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.Modality = attributes.pop('Modality', 'CT')
    ds.PatientName = 'Test^Patient'
    ds.PatientID = 'T1'
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    if colour:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = attributes.pop('BitsStored', bits)
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == 'i' else 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_volume(
    folder: Path,
    shape: tuple[int, int, int],
    bright: tuple[int, int, int],
    *,
    pixel_mm: float = 1.0,
    gap_mm: float = 2.0,
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    positions: list[list[float]] | None = None,
    bright_size: int = 1,
    **attributes: Any,
) -> list[Path]:
    """A CT series of `shape` (slices, rows, columns) of -1000 HU with one bright cube (1000 HU) at `bright`
    (column, row, slice); slice n lies at n * gap_mm along the normal unless `positions` says otherwise. Instance
    numbers run backwards, so only the positions give the order."""
    slices, rows, columns = shape
    column, row, where = bright
    row_dir, column_dir = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row_dir, column_dir)
    study_uid, series_uid = generate_uid(), generate_uid()
    half = bright_size // 2
    paths = []
    for n in range(slices):
        pixels = np.zeros((rows, columns), np.uint16)
        if abs(n - where) <= half:
            pixels[max(0, row - half) : row + half + 1, max(0, column - half) : column + half + 1] = 2000
        position = positions[n] if positions is not None else list(normal * n * gap_mm)
        paths.append(
            write_image(
                folder / f'{n:04d}.dcm',
                pixels,
                study_uid=study_uid,
                series_uid=series_uid,
                InstanceNumber=slices - n,
                RescaleSlope=1,
                RescaleIntercept=-1000,
                BitsStored=12,
                PixelSpacing=[pixel_mm, pixel_mm],
                SliceThickness=gap_mm,
                ImageOrientationPatient=[float(v) for v in orientation],
                ImagePositionPatient=[float(v) for v in position],
                WindowCenter=40,
                WindowWidth=400,
                SeriesNumber=1,
                **attributes,
            )
        )
    return paths
