// The parts of Uppy the example page uses, bundled into dist/uppy.js by `npm run build`
// (esbuild), so that the page loads nothing from a CDN.
export { default as Uppy } from '@uppy/core'
export { default as Dashboard } from '@uppy/dashboard'
export { default as AwsS3 } from '@uppy/aws-s3'
