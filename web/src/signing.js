// Signed requests, made in the browser with the user's own certified key (WebCrypto Ed25519).
//
// The same request the Python client makes (src/oretrail/client.py, auth/requests.py):
// a JWS `typ: txn+jwt` signed with the user key, whose kid is its RFC 7638 thumbprint,
// naming the operation, its root, depth and as-of date, and binding the GraphQL
// document and variables by SHA-256 (variables as RFC 8785 canonical JSON). It goes
// with the organisation's user certificate (`typ: user-cert+jwt`), whose cnf.jwk
// must be this very key. Nothing here ever sends the private key anywhere.

export const FEDERATION = "urn:oretrail:federation";
export const CERTIFICATE_HEADER = "oretrail-user-certificate";
const REQUEST_TYP = "txn+jwt";
const INTERACTIVE_LIFETIME = 300; // seconds (DESIGN.md, Trust 2)
const encoder = new TextEncoder();

export function base64url(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function sha256(text) {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

// RFC 8785: keys sorted by UTF-16 code units, primitives as ECMAScript serialises them.
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The claims of a JWS, read without verifying (the gateway and nodes verify it). */
export function unverifiedClaims(token) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("the certificate is not a JWS (three dot-separated parts)");
  return JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
}

function headerOf(token) {
  return JSON.parse(new TextDecoder().decode(fromBase64url(token.split(".")[0])));
}

async function thumbprint(x) {
  // RFC 7638: the required members, sorted, no white space.
  return sha256(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`);
}

/**
 * A user from the text of its key file (PKCS#8 PEM, as `oretrail keys certify` writes it)
 * and its certificate. Throws an Error whose message says what does not fit.
 */
export async function loadUser(pemText, certificateText) {
  if (!globalThis.crypto?.subtle) {
    throw new Error("this page needs WebCrypto: open it over https or on 127.0.0.1");
  }
  const base64 = pemText
    .split(/\r?\n/)
    .filter((line) => line && !line.startsWith("#") && !line.startsWith("-----"))
    .join("");
  if (!/-----BEGIN PRIVATE KEY-----/.test(pemText) || !base64) {
    throw new Error("the key file is not a PEM private key (-----BEGIN PRIVATE KEY-----)");
  }
  let der;
  try {
    der = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  } catch {
    throw new Error("the key file's PEM body is not base64");
  }
  let exportable;
  try {
    exportable = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  } catch {
    throw new Error("the key file does not hold an Ed25519 private key");
  }
  const { x } = await crypto.subtle.exportKey("jwk", exportable);
  // Kept for signing only: the page cannot read the private key back out.
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  const kid = await thumbprint(x);

  const certificate = certificateText.trim();
  let claims;
  let header;
  try {
    claims = unverifiedClaims(certificate);
    header = headerOf(certificate);
  } catch {
    throw new Error("the certificate file is not a user certificate (a JWS)");
  }
  if (header.typ !== "user-cert+jwt") {
    throw new Error(`the certificate's type is ${header.typ}, not user-cert+jwt`);
  }
  if (claims.cnf?.jwk?.x !== x) {
    throw new Error("the certificate certifies another key than this key file");
  }
  const org = typeof claims.iss === "string" ? claims.iss.replace(/^urn:oretrail:org:/, "") : "";
  if (!org || org === claims.iss) throw new Error("the certificate names no organisation");
  const expires = new Date(claims.exp * 1000);
  if (expires.getTime() <= Date.now()) {
    throw new Error(`the certificate expired at ${expires.toISOString()}; ask for a new one`);
  }
  return { key, kid, issuer: claims.iss, org, sub: claims.sub, certificate, expires };
}

/**
 * The headers that carry `user`'s signed request for a trace of `variables.lot`
 * (with `variables.maxDepth` and `variables.asOf`, YYYY-MM-DD) by `query`.
 */
export async function signedTraceHeaders(user, query, variables) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    sub: user.sub,
    aud: FEDERATION,
    txn: crypto.randomUUID(),
    ctx: {
      op: "trace",
      roots: [variables.lot],
      depth: variables.maxDepth,
      as_of: `${variables.asOf}T00:00:00Z`,
      purpose: "trace (viewer)",
      doc: await sha256(query),
      vars: await sha256(canonicalJson(variables)),
    },
    iss: user.issuer,
    iat: now,
    exp: now + INTERACTIVE_LIFETIME,
  };
  const header = { alg: "EdDSA", kid: user.kid, typ: REQUEST_TYP };
  const input = `${base64url(encoder.encode(JSON.stringify(header)))}.${base64url(
    encoder.encode(JSON.stringify(claims)),
  )}`;
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, user.key, encoder.encode(input));
  return {
    Authorization: `Bearer ${input}.${base64url(new Uint8Array(signature))}`,
    [CERTIFICATE_HEADER]: user.certificate,
  };
}
