"""OHIF under /ohif/: the prebuilt OHIF viewer (fetched by tools/fetch_ohif.sh, never at run time) served by ClinicPACS
itself, reading this server's /dicomweb with the browser's session: same origin, so neither CORS nor a password in
the page.

- The files come from `.cache/ohif/current/dist-ohif` (the published dist with its public path moved to /ohif/);
  when it is missing every /ohif/ address answers 404 saying how to fetch it.
- `app-config.js` is written here: one DICOMweb data source at this origin's /dicomweb (QIDO-RS, WADO-RS metadata and
  frames, thumbnails from frames), the study list on, OHIF's cross-origin and CPU warnings off.
- Any other path without a file is OHIF's own client-side route (`/ohif/viewer?StudyInstanceUIDs=…`): index.html.
- Who: the roles ROUTES allows at /ohif/ (those who read images); a browser without a session is sent to sign in
  and back. The page's CSP is the server's own (ui/edge_security.py): OHIF needs nothing beyond it.
"""

from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from .guard import route_guard

ROUTE = '/ohif/{path:path}'
ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / '.cache' / 'ohif' / 'current' / 'dist-ohif'
TYPES = {
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.css': 'text/css',
    '.html': 'text/html; charset=utf-8',
    '.json': 'application/json',
    '.wasm': 'application/wasm',
    '.woff2': 'font/woff2',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.ico': 'image/x-icon',
}
# The bundles' names carry their content's hash; index.html and the configuration are asked for again each time.
CACHED = {'Cache-Control': 'private, max-age=86400'}
FRESH = {'Cache-Control': 'no-cache'}
APP_CONFIG = """window.config = {
  routerBasename: '/ohif',
  extensions: [],
  modes: [],
  customizationService: {},
  showStudyList: true,
  maxNumberOfWebWorkers: 3,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'clinicpacs',
  dataSources: [{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'clinicpacs',
    configuration: {
      friendlyName: 'ClinicPACS',
      name: 'clinicpacs',
      qidoRoot: window.location.origin + '/dicomweb',
      wadoRoot: window.location.origin + '/dicomweb',
      wadoUriRoot: window.location.origin + '/dicomweb',
      qidoSupportsIncludeField: false,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
      staticWado: false,
      singlepart: false,
      bulkDataURI: { enabled: true },
      omitQuotationForMultipartRequest: true,
    },
  }],
};
"""


def register(folder: Path = FOLDER) -> None:
    """Serve OHIF from `folder` (a dist whose public path is /ohif/) at /ohif/."""
    from nicegui import app

    guard = route_guard(ROUTE)

    @app.get(ROUTE, include_in_schema=False)
    async def ohif(request: Request, path: str) -> Response:
        try:
            await guard(request)
        except HTTPException as refused:
            if refused.status_code != 401 or request.headers.get('authorization'):
                raise
            return RedirectResponse('/login?next=/ohif/', status_code=307)  # a browser without a session
        return _answer(folder, path)


def _answer(folder: Path, path: str) -> Response:
    root = folder.resolve()
    if not (root / 'index.html').is_file():
        return JSONResponse(
            {'detail': 'OHIF is not installed on this server: run tools/fetch_ohif.sh'}, status_code=404
        )
    if path == 'app-config.js':
        return Response(APP_CONFIG, media_type=TYPES['.js'], headers=FRESH)
    file = (root / path).resolve()
    if not file.is_relative_to(root):
        return JSONResponse({'detail': 'Not Found'}, status_code=404)
    if file.is_file() and file.name != 'index.html':
        return FileResponse(file, media_type=TYPES.get(file.suffix, 'application/octet-stream'), headers=CACHED)
    if '.' in file.name:  # a missing asset, not one of OHIF's own routes
        return JSONResponse({'detail': 'Not Found'}, status_code=404)
    return FileResponse(root / 'index.html', media_type=TYPES['.html'], headers=FRESH)
