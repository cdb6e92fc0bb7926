// Browser uploads through presignd: PUT, POST form and multipart.
//
// Form fields can be filled from the page address, in the fragment (kept out of
// server logs, so the place for a token) or the query string:
//   index.html#server=http://127.0.0.1:8080&token=dev-token&bucket=dev&key=a.txt&mode=put&partSize=8
"use strict";

const MiB = 1024 * 1024;
const minPartSize = 5 * MiB; // S3's smallest part but the last: no multipart upload is smaller
const partsPerCall = 1000; // presignd signs at most this many part URLs per call
const parallelParts = 3;
const urlLifetime = 900; // seconds

// UploadError is a refusal or failure to show the user. source says who refused:
// "presignd", "s3" or "page".
class UploadError extends Error {
  constructor(source, message, info = {}) {
    super(message);
    this.source = source;
    this.info = info;
  }
}

const $ = (id) => document.getElementById(id);

function prefill() {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) params.set(k, v);
  const fields = { server: "server", token: "token", bucket: "bucket", key: "key",
    contentType: "content-type", mode: "mode", partSize: "part-size" };
  for (const [param, id] of Object.entries(fields)) {
    if (params.has(param)) $(id).value = params.get(param);
  }
}

function settings() {
  const file = $("file").files[0];
  const s = {
    server: $("server").value.trim().replace(/\/+$/, ""),
    token: $("token").value.trim(),
    bucket: $("bucket").value.trim(),
    key: $("key").value,
    contentType: $("content-type").value.trim(),
    mode: $("mode").value,
    // A part size to ask presignd for; empty: presignd picks. The parts are always cut
    // as presignd answers, since each part URL is signed for its exact size.
    partSize: $("part-size").value.trim() === "" ? 0 : Math.floor(Number($("part-size").value) * MiB),
    file,
  };
  if (!s.server) throw new UploadError("page", "Enter presignd's URL.");
  if (!s.token) throw new UploadError("page", "Enter your presignd token.");
  if (!s.bucket) throw new UploadError("page", "Enter a bucket.");
  if (!file) throw new UploadError("page", "Choose a file.");
  if (!(s.partSize >= 0)) throw new UploadError("page", "The part size must be a number of MiB, or empty.");
  if (s.key === "") s.key = file.name;
  if (s.contentType === "") s.contentType = file.type || "application/octet-stream";
  if (s.mode === "auto") s.mode = file.size > (s.partSize || minPartSize) ? "multipart" : "put";
  return s;
}

// api calls presignd and returns its JSON answer, or throws its problem as an UploadError.
async function api(s, path, body) {
  let res;
  try {
    res = await fetch(s.server + path, {
      method: "POST",
      headers: { "Authorization": "Bearer " + s.token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new UploadError("presignd",
      `presignd at ${s.server} could not be reached (${err.message}). ` +
      `Check its URL, and that its cors.allowed_origins lists ${location.origin}.`);
  }
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* not JSON: reported below */ }
  if (!res.ok) {
    const p = data || {};
    const what = p.detail || p.title || text.trim() || res.statusText;
    const why = p.reason || p.code;
    throw new UploadError("presignd",
      `presignd refused (${res.status}${why ? " " + why : ""}): ${what}`,
      { status: res.status, code: p.code, reason: p.reason, requestId: res.headers.get("X-Request-Id") });
  }
  if (data === null) throw new UploadError("presignd", `presignd answered ${path} with something that is not JSON.`);
  return data;
}

// send makes one request to S3 and resolves with the XMLHttpRequest once S3 answers 2xx.
// fetch cannot report upload progress; XMLHttpRequest can.
function send(method, url, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers || {})) {
      // The browser sets Content-Length from the body itself and refuses to be told.
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    if (onProgress) {
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    }
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(xhr) : reject(s3Refusal(xhr)));
    xhr.onerror = () => reject(new UploadError("s3",
      `The ${method} to S3 got no answer the page may read. Either S3 cannot be reached, or the ` +
      `bucket's CORS rule does not allow ${location.origin} to ${method} there.`));
    xhr.onabort = () => reject(new UploadError("page", "The upload was cancelled."));
    xhr.send(body);
  });
}

// s3Refusal reads S3's XML error (<Error><Code>…</Code><Message>…</Message></Error>).
function s3Refusal(xhr) {
  const doc = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
  const field = (name) => (doc.querySelector("Error > " + name) || {}).textContent || "";
  const code = field("Code");
  const message = field("Message");
  let text = `S3 refused the upload (${xhr.status}`;
  text += code ? ` ${code})` : ")";
  if (message) text += `: ${message}`;
  return new UploadError("s3", text, { status: xhr.status, code, message });
}

async function uploadPut(s, progress) {
  const signed = await api(s, "/v1/presign", {
    bucket: s.bucket, key: s.key, method: "PUT", expires_in: urlLifetime,
    content_type: s.contentType, content_length: s.file.size,
  });
  // Send exactly the headers presignd signed: they are part of the signature.
  await send(signed.method || "PUT", signed.url, signed.headers, s.file, (loaded) => progress(loaded));
}

async function uploadPost(s, progress) {
  const form = await api(s, "/v1/presign/post", {
    bucket: s.bucket, key: s.key, expires_in: urlLifetime, content_type: s.contentType,
  });
  const data = new FormData();
  for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
  data.append("file", s.file); // S3 ignores every field after the file
  // The request body is larger than the file (form fields and boundaries): scale.
  await send("POST", form.url, {}, data, (loaded, total) => progress(Math.round(s.file.size * loaded / total)));
}

async function uploadMultipart(s, progress) {
  const { file } = s;
  const ids = { bucket: s.bucket, key: s.key };
  const create = { ...ids, content_type: s.contentType, content_length: file.size };
  if (s.partSize > 0) create.part_size = s.partSize;
  // presignd fixes the part size (and refuses files below 5 MiB, which go by PUT or POST):
  // each part URL is signed for its part's exact size, so the file is cut as it says.
  const created = await api(s, "/v1/multipart/create", create);
  const partSize = created.part_size;
  const count = created.part_count;
  if (!(partSize > 0 && count > 0 && (count - 1) * partSize < file.size && count * partSize >= file.size)) {
    throw new UploadError("presignd",
      `presignd answered part_size ${partSize} and part_count ${count}, which do not cut ${file.size} bytes into parts.`);
  }
  ids.upload_id = created.upload_id;

  const loaded = new Array(count).fill(0);
  const report = () => progress(loaded.reduce((a, b) => a + b, 0));
  const etags = new Array(count);
  try {
    for (let first = 1; first <= count; first += partsPerCall) {
      const numbers = [];
      for (let n = first; n < first + partsPerCall && n <= count; n++) numbers.push(n);
      const signed = await api(s, "/v1/multipart/parts", { ...ids, part_numbers: numbers, expires_in: urlLifetime });
      const queue = signed.parts.slice();
      let failed = false;
      const worker = async () => {
        while (queue.length > 0 && !failed) {
          const part = queue.shift();
          const i = part.part_number - 1;
          const chunk = file.slice(i * partSize, i * partSize + part.size);
          if (chunk.size !== part.size) {
            failed = true;
            throw new UploadError("page", `Part ${part.part_number} is signed for ${part.size} bytes, but the file has ${chunk.size} there.`);
          }
          let xhr;
          try {
            // The part's headers hold its signed Content-Length, which the browser sets
            // itself from the chunk: the chunk is exactly that size.
            xhr = await send("PUT", part.url, part.headers, chunk, (n) => { loaded[i] = n; report(); });
          } catch (err) {
            failed = true;
            throw err;
          }
          loaded[i] = chunk.size;
          report();
          const etag = xhr.getResponseHeader("ETag");
          if (!etag) {
            failed = true;
            throw new UploadError("s3",
              `S3 stored part ${part.part_number}, but the page cannot read its ETag: ` +
              "the bucket's CORS rule must expose the ETag header (ExposeHeaders: ETag).");
          }
          etags[i] = etag;
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallelParts, queue.length) }, worker));
    }
    const parts = etags.map((etag, i) => ({ part_number: i + 1, etag }));
    return await api(s, "/v1/multipart/complete", { ...ids, parts });
  } catch (err) {
    // Drop the parts so S3 does not keep them. presignd has already aborted an upload
    // it refused at complete; the abort then finds nothing, which is fine.
    await api(s, "/v1/multipart/abort", ids).catch(() => {});
    throw err;
  }
}

const flows = { put: ["PUT", uploadPut], post: ["POST form", uploadPost], multipart: ["multipart", uploadMultipart] };

function setStatus(state, text) {
  const el = $("status");
  el.dataset.state = state;
  el.textContent = text;
}

function showProgress(done, total) {
  const bar = $("progress");
  bar.max = Math.max(total, 1);
  bar.value = Math.min(done, total);
  const pct = total > 0 ? Math.floor(100 * done / total) : 100;
  $("progress-text").textContent = `${formatSize(done)} of ${formatSize(total)} (${pct}%)`;
}

function formatSize(n) {
  if (n >= MiB) return (n / MiB).toFixed(1) + " MiB";
  if (n >= 1024) return (n / 1024).toFixed(1) + " KiB";
  return n + " B";
}

async function onSubmit(event) {
  event.preventDefault();
  const button = $("upload");
  let s;
  try {
    s = settings();
  } catch (err) {
    setStatus("error", err.message);
    $("status").dataset.source = "page";
    return;
  }
  const [name, flow] = flows[s.mode] || [];
  if (!flow) {
    setStatus("error", `Unknown method ${s.mode}.`);
    return;
  }
  button.disabled = true;
  $("status").dataset.flow = s.mode;
  delete $("status").dataset.source;
  showProgress(0, s.file.size);
  setStatus("working", `Uploading ${s.file.name} to s3://${s.bucket}/${s.key} by ${name}…`);
  try {
    await flow(s, (done) => showProgress(done, s.file.size));
    showProgress(s.file.size, s.file.size);
    setStatus("done", `Stored s3://${s.bucket}/${s.key} (${formatSize(s.file.size)}) by ${name}.`);
  } catch (err) {
    const msg = err instanceof UploadError ? err.message : `Unexpected error: ${err && err.message}`;
    setStatus("error", msg);
    $("status").dataset.source = err.source || "page";
  } finally {
    button.disabled = false;
  }
}

prefill();
$("upload-form").addEventListener("submit", onSubmit);
