"""Message ids a screen shows through `t(variable)`: states, roles and table entries the extraction cannot see.

Each group names where the texts come from. When a screen marks its own table with `N_()`, drop its group here.
"""

from domain.errors import N_

ROLES = (N_('receptionist'), N_('technician'), N_('radiologist'), N_('admin'), N_('centre'))

# ui/board.py COLUMN_TITLES and actions; ui/kiosk.py TITLES; ui/reading.py
BOARD = (
    N_('Expected'),
    N_('Waiting'),
    N_('In room'),
    N_('In scan'),
    N_('Review'),
    N_('Completed'),
    N_('Check in'),
    N_('Start scan'),
    N_('End scan'),
    N_('Please wait'),
    N_('Called in'),
    N_('In examination'),
    N_('Done'),
)

# appointment, study, report and job states shown as badges (t(item.state), t(study.state), t(job.state))
STATES = (
    N_('all'),
    N_('scheduled'),
    N_('waiting'),
    N_('in-room'),
    N_('in-scan'),
    N_('review'),
    N_('completed'),
    N_('cancelled'),
    N_('no-show'),
    N_('receiving'),
    N_('processing'),
    N_('ready'),
    N_('draft'),
    N_('final'),
    N_('addended'),
    N_('queued'),
    N_('running'),
    N_('done'),
    N_('failed'),
)

# ui/upload.py: what happened to each uploaded file (dicom/uploads.py results and reasons)
UPLOAD_RESULTS = (
    N_('stored'),
    N_('duplicate'),
    N_('conflict'),
    N_('refused'),
    N_('index'),
    N_('already stored'),
)

# ui/patients.py form labels and SEX_OPTIONS
PATIENT_FORM = (
    N_('Family name'),
    N_('Given name'),
    N_('Middle name'),
    N_('female'),
    N_('male'),
    N_('other'),
    N_('unknown'),
)

# ui/viewer.py TOOLS and toolbar; ui/viewer_tools.py PRESETS (window presets) and SHORTCUTS
VIEWER = (
    N_('Scroll'),
    N_('Window / level'),
    N_('Pan'),
    N_('Zoom'),
    N_('Length'),
    N_('Angle'),
    N_('Rectangle ROI'),
    N_('Ellipse ROI'),
    N_('Fit'),
    N_('One to one'),
    N_('Invert'),
    N_('Flip horizontal'),
    N_('Flip vertical'),
    N_('Rotate 90°'),
    N_('Reset'),
    N_('Soft tissue'),
    N_('Lung'),
    N_('Bone'),
    N_('Brain'),
    N_('Liver'),
    N_('Abdomen'),
)

# dicom/volume_read.py (VolumeError, re-exported by dicom/volume.py): why a series cannot be shown as MPR
MPR_REFUSALS = (
    N_('MPR needs at least {count} slices; this series has {found}'),
    N_('The slices of this series differ in size; MPR needs one regular stack'),
    N_('The slices of this series differ in orientation; MPR needs one regular stack'),
    N_('Two slices of this series share a position; MPR needs one regular stack'),
    N_('The slices are not evenly spaced ({low}–{high} mm apart); MPR needs a regular series'),
    N_('This series was acquired with a gantry tilt; MPR of tilted slices is not offered'),
    N_('A slice of this series has no position, orientation or pixel spacing; MPR needs them'),
    N_('MPR reads series of single-frame grey slices; this series is multi-frame or colour'),
    N_('This series is acquired at an oblique angle; MPR shows straight planes only'),
    N_('The orientation of this series is not consistent; MPR needs one regular stack'),
)
