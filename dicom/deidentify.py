"""De-identification for an export: PS3.15 Annex E, Basic Application Level Confidentiality Profile.

One `Deidentifier` per export: every element of every data set (inside sequences too) gets the Basic Profile action
of PS3.15 Table E.1-1 (dicom/deidentify_table.py), private elements are removed, and every UID that is not a
registered one (SOP classes, transfer syntaxes, coding schemes) is replaced by a new 2.25 UID from one mapping, so
an image's references to its series, study and other images still point where they did inside the export. Pixel
data is left as it is: text burned into the pixels (Burned In Annotation YES, or unknown for US and secondary
capture) is the exporting person's to judge; the export dialog says so.
"""

import logging
import uuid
from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID_dictionary

from .deidentify_table import BASIC_PROFILE, REMOVE_MASKED

log = logging.getLogger(__name__)

METHOD = 'PS3.15 E.1 Basic Profile (ClinicPACS)'
PROFILE_CODE = ('113100', 'DCM', 'Basic Application Confidentiality Profile')  # PS3.16 CID 7050
PATIENT_NAME = 'ANONYMOUS^PATIENT'
DUMMY_TEXT = 'ANONYMIZED'
DUMMY_BY_VR: dict[str, Any] = {
    'DA': '19000101',
    'TM': '000000',
    'DT': '19000101000000',
    'AS': '000Y',
    'IS': '0',
    'DS': '0',
    'US': 0,
    'SS': 0,
    'UL': 0,
    'SL': 0,
    'UV': 0,
    'SV': 0,
    'FL': 0.0,
    'FD': 0.0,
}
TEXT_VRS = frozenset({'AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'UR'})
MAX_LENGTH = {'AE': 16, 'CS': 16, 'SH': 16, 'LO': 64, 'PN': 64}
FILE_META_REMOVED = (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102)  # source/sending AE titles, private


class Deidentifier:
    """Applies the Basic Profile to the data sets of one export, with one UID mapping and one pseudonym."""

    def __init__(self) -> None:
        self.uids: dict[str, str] = {}
        self.patient_id = f'ANON{uuid.uuid4().hex[:8].upper()}'

    def apply(self, dataset: Dataset) -> Dataset:
        """De-identify a data set in place (file meta included) and return it."""
        dataset.remove_private_tags()
        self._clean(dataset)
        dataset.PatientName = PATIENT_NAME
        dataset.PatientID = self.patient_id
        dataset.PatientIdentityRemoved = 'YES'
        dataset.DeidentificationMethod = METHOD
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = PROFILE_CODE
        dataset.DeidentificationMethodCodeSequence = Sequence([code])
        meta = getattr(dataset, 'file_meta', None)
        if meta is not None:
            for tag in FILE_META_REMOVED:
                if tag in meta:
                    del meta[tag]
            if 'MediaStorageSOPInstanceUID' in meta:
                meta.MediaStorageSOPInstanceUID = self.new_uid(str(meta.MediaStorageSOPInstanceUID))
        return dataset

    def new_uid(self, old: str) -> str:
        """The export's replacement for a UID: the same old UID always gets the same new one."""
        old = old.strip().rstrip('\x00')
        if not old or old in UID_dictionary:
            return old
        if old not in self.uids:
            self.uids[old] = f'2.25.{uuid.uuid4().int}'
        return self.uids[old]

    def _clean(self, dataset: Dataset) -> None:
        for element in list(dataset):
            tag = int(element.tag)
            action = BASIC_PROFILE.get(tag)
            if action is None and any(tag & mask == pattern for pattern, mask in REMOVE_MASKED):
                action = 'X'
            if element.VR == 'SQ':
                self._sequence(dataset, element, action)
            elif action is not None:
                self._act(dataset, element, action)
            elif element.VR == 'UI':
                self._replace_uids(element)
            elif element.VR == 'PN':  # a person named by an attribute the table does not list
                element.value = ''

    def _sequence(self, dataset: Dataset, element: DataElement, action: str | None) -> None:
        if action in ('X', 'X/Z', 'X/D', 'X/Z/D'):
            del dataset[element.tag]
        elif action == 'Z':
            element.value = Sequence()
        else:  # kept (D, U*, or not in the table): every item is cleaned the same way
            for item in element.value or []:
                self._clean(item)

    def _act(self, dataset: Dataset, element: DataElement, action: str) -> None:
        if action == 'X':
            del dataset[element.tag]
        elif element.VR == 'UI':  # U, and any other code on a UID: the export's consistent replacement
            self._replace_uids(element)
        elif action in ('Z', 'X/Z'):
            element.value = '' if element.VR in TEXT_VRS else None
        else:  # D, Z/D, X/D, X/Z/D: a dummy consistent with the VR
            element.value = _dummy(element.VR)

    def _replace_uids(self, element: DataElement) -> None:
        if keyword_for_tag(element.tag).endswith('ClassUID') or element.value in (None, ''):
            return
        if element.VM > 1:
            element.value = [self.new_uid(str(value)) for value in element.value]
        else:
            element.value = self.new_uid(str(element.value))


def _dummy(vr: str) -> Any:
    if vr in DUMMY_BY_VR:
        return DUMMY_BY_VR[vr]
    if vr in TEXT_VRS:
        return DUMMY_TEXT[: MAX_LENGTH.get(vr, len(DUMMY_TEXT))]
    return None
