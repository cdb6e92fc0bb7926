// The share page: who the caller is (GET /v1/whoami), and a link to an object
// (POST /v1/presign). Every call goes to the presignd that served the page, with the
// browser's own credentials (a sign-on proxy's cookie, a client certificate) and, when
// there is one, a bearer token: pasted into the page, or under `serve --dev` the
// development token. A token is kept in sessionStorage only (this tab), never in a URL.
"use strict";

const TOKEN_KEY = "presignd.token";
const S3_MAX = 604800; // seconds: the longest lifetime S3 accepts
const PRESETS = [300, 900, 3600, 6 * 3600, 86400, 3 * 86400, S3_MAX];
const DEFAULT_EXPIRY = 3600;

const $ = (id) => document.getElementById(id);

const state = {
  token: null, // the bearer token in use, or null
  tokenSource: "", // "pasted", "dev" or ""
  whoami: null, // the last answer of /v1/whoami
  expiryTimer: 0,
};

// --- API calls ---------------------------------------------------------------

// api calls presignd at path (relative to /ui/) and returns {ok, status, body}.
// A failure to reach presignd is an answer too: status 0.
async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set("Accept", "application/json, application/problem+json");
  if (state.token) headers.set("Authorization", "Bearer " + state.token);
  let res;
  try {
    res = await fetch(new URL(path, document.baseURI), {...init, headers, credentials: "same-origin", cache: "no-store", redirect: "manual"});
  } catch (err) {
    return {ok: false, status: 0, body: {title: "presignd could not be reached", detail: String(err.message || err)}};
  }
  if (res.type === "opaqueredirect") {
    // A sign-on proxy sends a request without a live session to its login page.
    return {ok: false, status: 0, body: {title: "Sign-in needed", detail: "your sign-on session has ended; reload the page to sign in again"}};
  }
  let body = null;
  const type = res.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      body = await res.json();
    } catch {
      body = null;
    }
  }
  return {ok: res.ok, status: res.status, body};
}

async function devToken() {
  try {
    const res = await fetch("dev.json", {credentials: "same-origin", cache: "no-store"});
    if (!res.ok) return null;
    const body = await res.json();
    return typeof body.token === "string" && body.token !== "" ? body.token : null;
  } catch {
    return null;
  }
}

// --- Identity ----------------------------------------------------------------

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the token lives in memory only.
  }
}

// identify picks the token to use and asks presignd who the caller is.
async function identify() {
  setIdentityStatus("loading", "Asking presignd who you are…");
  const pasted = storedToken();
  if (pasted) {
    state.token = pasted;
    state.tokenSource = "pasted";
  } else {
    state.token = await devToken();
    state.tokenSource = state.token ? "dev" : "";
  }
  const res = await api("../v1/whoami");
  if (res.ok && res.body) {
    showIdentity(res.body);
    return;
  }
  state.whoami = null;
  $("forget-token").hidden = state.tokenSource !== "pasted";
  $("identity-details").hidden = true;
  $("grants-box").hidden = true;
  updateExpiryOptions();
  if (res.status === 401) {
    const why = problemDetail(res.body);
    setIdentityStatus("unauthenticated", state.tokenSource === "pasted"
      ? "presignd did not accept the token" + (why ? ": " + why : ".") + " Paste another one below."
      : "presignd does not know who you are. Paste a token below, or open this page through your single sign-on proxy.");
    askForToken();
    return;
  }
  setIdentityStatus("error", "Could not find out who you are: " + problemText(res));
}

function setIdentityStatus(stateName, text) {
  const el = $("identity-status");
  el.dataset.state = stateName;
  el.textContent = text;
}

function askForToken() {
  const box = $("token-box");
  box.open = true;
  $("token").focus();
}

function showIdentity(who) {
  state.whoami = who;
  const p = who.principal || {};
  $("client").textContent = who.client || "";
  $("subject").textContent = describePrincipal(p);
  $("identity-details").hidden = false;
  let line = "Signed in as " + (p.subject || who.client) + ".";
  if (state.tokenSource === "dev") line = "Development mode: the page uses presignd's public development token.";
  else if (state.tokenSource === "pasted") line = "Using the token you pasted (client " + who.client + ").";
  setIdentityStatus("ready", line);
  $("forget-token").hidden = state.tokenSource !== "pasted";
  $("token-box").open = false;
  showGrants(who.grants || []);
  updateExpiryOptions();
}

function describePrincipal(p) {
  const subject = p.subject || "";
  switch (p.kind) {
    case "proxy": {
      const groups = (p.groups || []).length ? " (groups: " + p.groups.join(", ") + ")" : "";
      return subject + ", through the sign-on proxy" + groups;
    }
    case "jwt":
      return subject + ", by a token from issuer " + (p.issuer || "?");
    case "mtls":
      return subject + ", by client certificate";
    case "token":
      return subject + ", by static token";
    default:
      return subject;
  }
}

function showGrants(grants) {
  const body = $("grants").tBodies[0];
  body.replaceChildren();
  const buckets = new Set();
  let downloads = 0;
  for (const g of grants) {
    const tr = document.createElement("tr");
    tr.dataset.bucket = g.bucket;
    const bucket = document.createElement("td");
    bucket.textContent = g.bucket;
    const prefixes = document.createElement("td");
    const list = document.createElement("ul");
    list.className = "prefixes";
    const canGet = (g.methods || []).includes("GET");
    for (const prefix of g.prefixes || []) {
      const li = document.createElement("li");
      const label = prefix === "" ? "whole bucket" : prefix;
      if (canGet) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "linkish";
        b.textContent = label;
        b.title = "Make a link under s3://" + g.bucket + "/" + prefix;
        b.addEventListener("click", () => {
          setObject(g.bucket, prefix);
          const key = $("key");
          key.focus();
          key.setSelectionRange(key.value.length, key.value.length);
        });
        li.append(b);
      } else {
        li.textContent = label;
      }
      list.append(li);
    }
    prefixes.append(list);
    const methods = document.createElement("td");
    methods.textContent = (g.methods || []).join(", ");
    const ttl = document.createElement("td");
    ttl.textContent = typeof g.max_ttl === "number" ? formatDuration(g.max_ttl) : "";
    tr.append(bucket, prefixes, methods, ttl);
    body.append(tr);
    if (canGet) {
      buckets.add(g.bucket);
      downloads++;
    }
  }
  const datalist = $("bucket-list");
  datalist.replaceChildren(...[...buckets].map((b) => new Option(b, b)));
  $("grants-none").hidden = downloads > 0;
  $("grants-box").hidden = false;
}

// --- The object: s3:// URI or bucket and key -----------------------------------

// parseS3URI splits s3://BUCKET/KEY: the bucket is everything up to the first "/",
// the key everything after it, verbatim (no decoding: S3 keys are not URL paths).
function parseS3URI(text) {
  const m = /^s3:\/\//i.exec(text);
  if (!m) return {error: "An S3 URI starts with s3:// (for example s3://bucket/path/to/file)."};
  const rest = text.slice(m[0].length);
  const slash = rest.indexOf("/");
  if (slash < 0) return {bucket: rest, key: ""};
  return {bucket: rest.slice(0, slash), key: rest.slice(slash + 1)};
}

function setObject(bucket, key) {
  $("bucket").value = bucket;
  $("key").value = key;
  $("uri").value = bucket || key ? "s3://" + bucket + "/" + key : "";
  setInvalid($("uri"), false);
  updateExpiryOptions();
}

function onURIInput() {
  const uri = $("uri");
  const text = uri.value.trim();
  if (text === "") {
    setInvalid(uri, false);
    return;
  }
  const parsed = parseS3URI(text);
  if (parsed.error) return; // said on submit; half-typed URIs are normal
  setInvalid(uri, false);
  $("bucket").value = parsed.bucket;
  $("key").value = parsed.key;
  updateExpiryOptions();
}

function onObjectInput() {
  const bucket = $("bucket").value.trim();
  const key = $("key").value;
  $("uri").value = bucket || key ? "s3://" + bucket + "/" + key : "";
  setInvalid($("uri"), false);
  updateExpiryOptions();
}

function setInvalid(input, invalid) {
  if (invalid) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

// --- Expiry ------------------------------------------------------------------

// expiryLimit is the longest lifetime the caller may get for the object in the form:
// the longest max_ttl of the grants that allow GET there (the policy picks the grant
// with the longest max_ttl), never above max_expires_in. Until a key is typed, or when
// no grant covers it, the bucket's grants stand in. null when unknown.
function expiryLimit() {
  const who = state.whoami;
  if (!who) return null;
  const most = typeof who.max_expires_in === "number" ? who.max_expires_in : S3_MAX;
  const bucket = $("bucket").value.trim();
  const key = $("key").value;
  const inBucket = (who.grants || []).filter((g) => g.bucket === bucket && (g.methods || []).includes("GET"));
  const forKey = inBucket.filter((g) => (g.prefixes || []).some((p) => key.startsWith(p)));
  const longest = (grants) => Math.max(...grants.map((g) => g.max_ttl).filter((t) => typeof t === "number"));
  if (key !== "" && forKey.length > 0) return {seconds: Math.min(most, longest(forKey)), scope: "key"};
  if (inBucket.length > 0) return {seconds: Math.min(most, longest(inBucket)), scope: key === "" ? "bucket" : "uncovered"};
  return {seconds: most, scope: bucket === "" ? "any" : "unknown bucket"};
}

function updateExpiryOptions() {
  const select = $("expires");
  const previous = Number(select.value) || DEFAULT_EXPIRY;
  const limit = expiryLimit();
  const max = limit ? limit.seconds : S3_MAX;
  const values = PRESETS.filter((s) => s <= max);
  if (!values.includes(max) && (values.length === 0 || max > values[values.length - 1])) values.push(max);
  select.replaceChildren(...values.map((s) => {
    const label = formatDuration(s) + (s === max && !PRESETS.includes(s) ? " (the longest allowed)" : "");
    return new Option(label, String(s));
  }));
  const keep = values.includes(previous) ? previous : values.filter((s) => s <= DEFAULT_EXPIRY).pop() || values[0];
  select.value = String(keep);
  const most = "At most " + formatDuration(max);
  $("expires-help").textContent = {
    key: most + " here.",
    bucket: most + " in this bucket.",
    uncovered: "None of your grants lets you share this key.",
    "unknown bucket": "None of your grants lets you share from this bucket.",
    any: most + ".",
  }[limit ? limit.scope : ""] || "S3 accepts links of at most 7 days.";
}

const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

// formatDuration writes a number of seconds in its two largest units: "1 day",
// "1 hour 30 minutes".
function formatDuration(seconds) {
  const parts = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(n + " " + unit + (n === 1 ? "" : "s"));
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(" ") : "0 seconds";
}

// relative says how far from now a time is, in the largest unit that rounds to at
// least one: "in 1 hour", "in 1 day", "in 7 days".
function relative(date) {
  const diff = (date.getTime() - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(undefined, {numeric: "always"});
  const seconds = Math.round(diff);
  if (Math.abs(seconds) < 60) return rtf.format(seconds, "second");
  const minutes = Math.round(diff / 60);
  if (Math.abs(minutes) < 60) return rtf.format(minutes, "minute");
  const hours = Math.round(diff / 3600);
  if (Math.abs(hours) < 24) return rtf.format(hours, "hour");
  return rtf.format(Math.round(diff / 86400), "day");
}

// --- Making the link ---------------------------------------------------------

async function onSubmit(event) {
  event.preventDefault();
  const uri = $("uri");
  const uriText = uri.value.trim();
  let bucket = $("bucket").value.trim();
  let key = $("key").value;
  if (uriText !== "") {
    const parsed = parseS3URI(uriText);
    if (parsed.error) {
      setInvalid(uri, true);
      showProblem(parsed.error, "", uri);
      return;
    }
    bucket = parsed.bucket;
    key = parsed.key;
  }
  if (bucket === "") {
    showProblem("Enter a bucket, or an S3 URI that names one.", "", $("bucket"));
    return;
  }
  if (key === "") {
    showProblem("Enter the key of the object to share.", "", $("key"));
    return;
  }
  const request = {bucket, key, method: "GET", expires_in: Number($("expires").value)};
  const filename = $("filename").value.trim();
  if (filename !== "") request.download_filename = filename;

  const create = $("create");
  create.disabled = true;
  $("result").dataset.state = "busy";
  $("result").setAttribute("aria-busy", "true");
  try {
    const res = await api("../v1/presign", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(request),
    });
    if (res.ok && res.body && res.body.url) {
      showLink(res.body, request.expires_in);
    } else {
      showProblem(problemText(res), "You asked for s3://" + bucket + "/" + key + ".");
      if (res.status === 401) askForToken();
    }
  } finally {
    create.disabled = false;
    $("result").removeAttribute("aria-busy");
  }
}

function showLink(presigned, requested) {
  clearInterval(state.expiryTimer);
  $("problem").hidden = true;
  const link = $("link");
  link.value = presigned.url;
  $("copy-status").textContent = "";
  const expires = new Date(presigned.expires_at);
  const fmt = new Intl.DateTimeFormat(undefined, {dateStyle: "full", timeStyle: "long"});
  const time = document.createElement("time");
  time.dateTime = presigned.expires_at;
  time.textContent = fmt.format(expires);
  const rel = document.createElement("span");
  rel.id = "expiry-relative";
  rel.textContent = relative(expires);
  $("expiry").replaceChildren("Expires ", time, " (", rel, ").");
  state.expiryTimer = setInterval(() => {
    rel.textContent = Date.now() >= expires.getTime() ? "expired" : relative(expires);
  }, 15000);

  const capped = $("capped");
  const why = {
    policy: "your grant allows no longer links here",
    s3_max: "S3 accepts no pre-signed link longer than 7 days",
    credentials: "presignd's signing credentials expire then, and a link cannot outlive them",
  }[presigned.capped_by];
  if (presigned.capped_by) {
    capped.dataset.cappedBy = presigned.capped_by;
    capped.textContent = "Shorter than asked: you asked for " + formatDuration(requested) + ", the link lasts " +
      formatDuration(presigned.expires_in) + " because " + (why || "of a limit (" + presigned.capped_by + ")") + ".";
    capped.hidden = false;
  } else {
    delete capped.dataset.cappedBy;
    capped.hidden = true;
  }
  $("link-box").hidden = false;
  $("result").dataset.state = "link";
  link.focus();
  // Selected, and scrolled back so that the field shows where the link leads.
  link.setSelectionRange(0, link.value.length, "backward");
  link.scrollLeft = 0;
}

// problemDetail is a problem document's detail, or "".
function problemDetail(body) {
  return body && typeof body.detail === "string" ? body.detail : "";
}

// problemText says in words why presignd refused, from its problem document.
function problemText(res) {
  const body = res.body || {};
  const detail = problemDetail(body);
  let lead;
  switch (res.status) {
    case 0:
      lead = body.title;
      break;
    case 401:
      lead = "Not signed in";
      break;
    case 403:
      lead = "Not allowed";
      break;
    case 429:
      lead = "Too many requests, try again shortly";
      break;
    default:
      lead = body.title || "presignd answered " + res.status;
  }
  let text = detail ? lead + ": " + detail : lead;
  if (!/[.!?]$/.test(text)) text += ".";
  return text;
}

function showProblem(text, context, focusInput) {
  clearInterval(state.expiryTimer);
  $("link-box").hidden = true;
  $("link").value = "";
  const problem = $("problem");
  const main = document.createElement("p");
  main.className = "problem-text";
  main.textContent = text;
  problem.replaceChildren(main);
  if (context) {
    const p = document.createElement("p");
    p.className = "help";
    p.textContent = context;
    problem.append(p);
  }
  problem.hidden = false;
  $("result").dataset.state = "problem";
  if (focusInput) focusInput.focus();
}

// --- Copy --------------------------------------------------------------------

async function onCopy() {
  const link = $("link");
  const status = $("copy-status");
  try {
    await navigator.clipboard.writeText(link.value);
    status.textContent = "Copied to the clipboard.";
    return;
  } catch {
    // No clipboard API here (plain HTTP, or permission refused): select the text.
  }
  link.focus();
  link.setSelectionRange(0, link.value.length, "backward");
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  status.textContent = copied ? "Copied to the clipboard." : "The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.";
}

// --- Token -------------------------------------------------------------------

function onTokenSubmit(event) {
  event.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  input.value = "";
  if (token === "") {
    input.focus();
    return;
  }
  storeToken(token);
  identify();
}

function onForgetToken() {
  storeToken(null);
  $("token").value = "";
  identify();
}

document.addEventListener("DOMContentLoaded", () => {
  $("uri").addEventListener("input", onURIInput);
  $("bucket").addEventListener("input", onObjectInput);
  $("key").addEventListener("input", onObjectInput);
  $("share-form").addEventListener("submit", onSubmit);
  $("copy").addEventListener("click", onCopy);
  $("token-form").addEventListener("submit", onTokenSubmit);
  $("forget-token").addEventListener("click", onForgetToken);
  updateExpiryOptions();
  identify();
});
