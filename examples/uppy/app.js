// Uppy's Dashboard and @uppy/aws-s3, signing through presignd. Settings come from the
// URL's fragment (never sent to a server):
//   mode=sign       signRequest mode: POST /v1/uppy/sign with the bearer token `token`
//                   (a JWT from your identity provider) to presignd at `server`.
//   mode=companion  companionEndpoint mode: Companion's S3 routes at `server`/v1/uppy/s3.
//                   The plugin sends them no header of the app's, so presignd must be on
//                   this page's origin behind the sign-on proxy (server defaults to it).
//   multipartAbove  files larger than this many bytes go multipart. companion mode:
//                   default 100 MiB, as the plugin's. sign mode: default never, as
//                   presignd signs multipart there only under a grant that limits
//                   neither size nor type; set it when yours is such a grant.
import { AwsS3, Dashboard, Uppy } from './dist/uppy.js'

const params = new URLSearchParams(location.hash.slice(1))
const mode = params.get('mode') || 'sign'
const server = (params.get('server') || location.origin).replace(/\/$/, '')
const token = params.get('token') || ''
const multipartAbove = Number(params.get('multipartAbove') || (mode === 'companion' ? 100 * 1024 * 1024 : Infinity))

document.getElementById('settings').textContent = `mode ${mode}, presignd at ${server}`

// signRequest hands presignd the plugin's request as it is. presignd places the key
// under the caller's upload location and answers {url, key, fields}: a POST policy
// that S3 holds to the grant's size and type. A refusal's `message` becomes the error
// Uppy shows.
async function signRequest (request) {
  const res = await fetch(`${server}/v1/uppy/sign`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  })
  const body = await res.json().catch(() => ({}))
  if (!res.ok) {
    throw new Error(body.message || `presignd answered ${res.status}`)
  }
  return body
}

const uppy = new Uppy({ id: 'presignd' })
uppy.use(Dashboard, { inline: true, target: '#uppy', height: 420, proudlyDisplayPoweredByUppy: false })

if (mode === 'companion') {
  // presignd holds a multipart upload to the size it is told: Uppy sends the file's
  // meta when it starts one, so put the size there.
  uppy.on('file-added', (file) => uppy.setFileMeta(file.id, { size: file.size }))
  uppy.use(AwsS3, {
    companionEndpoint: `${server}/v1/uppy`,
    shouldUseMultipart: (file) => file.size > multipartAbove,
  })
} else {
  // In signRequest mode the plugin would create and complete a multipart upload
  // itself, unchecked, so presignd refuses it under a grant with a size or type limit:
  // every file goes in one POST (up to 5 GiB) unless multipartAbove says otherwise.
  uppy.use(AwsS3, { signRequest, shouldUseMultipart: (file) => file.size > multipartAbove })
}

// What happened, for whoever drives the page (the browser tests read it).
window.uploads = { done: false, successful: [], failed: [] }
uppy.on('upload-success', (file, response) => {
  window.uploads.successful.push({ name: file.name, key: response.body.key, location: response.body.location })
})
uppy.on('upload-error', (file, error) => {
  window.uploads.failed.push({ name: file.name, error: String(error && error.message) })
})
uppy.on('complete', () => { window.uploads.done = true })
window.uppy = uppy
