"""The shared hanging protocols every install starts with (stored once by domain.hanging_protocols.seed_shipped).

Names are stored in English and shown translated where the stored name is still a shipped one (t(name)).
Keys are stable codes: the seed remembers which codes it stored (in the audit), so a renamed or deleted shipped
protocol stays as the administrator left it. The format is domain.hanging_protocols' (rule, then stages).
"""

from typing import Any

from domain.errors import N_


def _viewport(
    by: str = 'index', value: str | int = 0, preset: str = '', prior: int = 0, cine: bool = False
) -> dict[str, Any]:
    return {'series': {'by': by, 'value': value}, 'preset': preset, 'prior': prior, 'cine': cine}


SHIPPED: dict[str, dict[str, Any]] = {
    'ct-head': {
        'name': N_('CT head: brain and bone'),
        'modality': 'CT',
        'pattern': 'head|brain|skull',
        'priors': 1,
        'stages': [
            {'layout': '1x2', 'viewports': [_viewport(preset='Brain'), _viewport(preset='Bone')]},
            {'layout': '1x2', 'viewports': [_viewport(preset='Brain'), _viewport(preset='Brain', prior=1)]},
        ],
    },
    'ct-chest': {
        'name': N_('CT chest: prior beside, lung and mediastinum'),
        'modality': 'CT',
        'pattern': 'chest|thorax|lung',
        'priors': 1,
        'stages': [  # the prior on the right when there is one (skipped when not), then the two windows
            {'layout': '1x2', 'viewports': [_viewport(preset='Lung'), _viewport(preset='Lung', prior=1)]},
            {'layout': '1x2', 'viewports': [_viewport(preset='Lung'), _viewport(preset='Mediastinum')]},
        ],
    },
    'xr-chest': {
        'name': N_('Chest X-ray with prior'),
        'modality': 'CR|DX',
        'pattern': 'chest|thorax',
        'priors': 1,
        'stages': [
            {'layout': '1x2', 'viewports': [_viewport(), _viewport(prior=1)]},
            {'layout': '1x2', 'viewports': [_viewport('description', 'PA|AP'), _viewport('description', 'LAT')]},
        ],
    },
    'us': {
        'name': N_('Ultrasound: cine'),
        'modality': 'US',
        'pattern': '',
        'priors': 0,
        'rank': 10,
        'stages': [{'layout': '1x1', 'viewports': [_viewport(cine=True)]}],
    },
    'mr-knee': {
        'name': N_('MR knee by plane'),
        'modality': 'MR',
        'pattern': 'knee',
        'priors': 0,
        'stages': [
            {'layout': '1x3', 'viewports': [_viewport('plane', plane) for plane in ('sagittal', 'coronal', 'axial')]},
        ],
    },
}
