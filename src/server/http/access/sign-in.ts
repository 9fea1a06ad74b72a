import type http from "node:http";
import { THEME_SCRIPT } from "../../../lib/theme";
import { queryOf } from "../paths";
import { clearedSessionCookie, sameSecret, sessionCookie } from "./credentials";
import type { AccessOptions } from "./gate";
import { safeNext, SIGN_IN_PATH } from "./next-path";
import { foreignOrigin } from "./origin";

/**
 * The sign-in page of a server with NVOC_TOKEN: a plain HTML form that trades the
 * token for an HttpOnly cookie, so browsers never hold the token where page scripts
 * could read it. Its only script is the dashboard's theme choice, so the page opens
 * light or dark as the dashboard would.
 */

/** A token is short; anything longer is not one. */
const MAX_FORM_BYTES = 4096;

export function createSignIn(options: AccessOptions) {
  const { token, allowedOrigins, hosts, log } = options;

  return async function handleSignIn(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const next = safeNext(queryOf(req.url).get("next"));
    if (token === null) {
      res.writeHead(303, { location: next }).end();
      return;
    }
    if (req.method === "GET" || req.method === "HEAD") return sendPage(res, 200, next, null);
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "GET, POST", "content-type": "text/plain; charset=utf-8" }).end("use GET or POST\n");
      return;
    }
    const origin = foreignOrigin(req, allowedOrigins, hosts);
    if (origin !== null) return sendPage(res, 403, next, `Signing in from ${origin} is not allowed.`);
    const form = await readForm(req);
    if (form === null) return sendPage(res, 413, next, "That form was too large.");
    if (form.get("action") === "sign-out") {
      res.writeHead(303, { location: SIGN_IN_PATH, "set-cookie": clearedSessionCookie(), "cache-control": "no-store" }).end();
      return;
    }
    const given = form.get("token")?.trim() ?? "";
    if (given === "" || !sameSecret(given, token)) {
      log.warn({ remote: req.socket.remoteAddress }, "sign-in with a wrong token");
      return sendPage(res, 401, next, "That token is not the one this server was started with.");
    }
    const secure = req.headers["x-forwarded-proto"] === "https";
    res.writeHead(303, { location: next, "set-cookie": sessionCookie(token, secure), "cache-control": "no-store" }).end();
  };
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function sendPage(res: http.ServerResponse, status: number, next: string, problem: string | null) {
  const action = `${SIGN_IN_PATH}?next=${encodeURIComponent(next)}`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · nvidia-oc</title>
<script>${THEME_SCRIPT}</script>
<style>
  :root { color-scheme: dark; --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #9da7b3; --border: #30363d; --accent: #76b900; --on-accent: #0d1117; --problem: #ff9b9b; }
  :root[data-theme="light"] { color-scheme: light; --bg: #f6f7f9; --panel: #ffffff; --text: #1b1f24; --muted: #5b6472; --border: #c5cbd5; --accent: #478000; --on-accent: #ffffff; --problem: #b42318; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, sans-serif; }
  form { width: min(22rem, 90vw); padding: 1.5rem; border: 1px solid var(--border); border-radius: 10px; background: var(--panel); }
  h1 { font-size: 1.2rem; margin: 0 0 0.25rem; }
  p { color: var(--muted); margin: 0 0 1rem; font-size: 0.9rem; }
  label { display: block; margin-bottom: 0.35rem; }
  input { box-sizing: border-box; width: 100%; padding: 0.55rem 0.65rem; border-radius: 6px; border: 1px solid var(--border); background: var(--bg); color: inherit; font: inherit; }
  button { margin-top: 1rem; width: 100%; padding: 0.55rem; border: 0; border-radius: 6px; background: var(--accent); color: var(--on-accent); font: inherit; font-weight: 600; cursor: pointer; }
  .problem { color: var(--problem); margin: 0.75rem 0 0; }
</style>
</head>
<body>
<form method="post" action="${escapeHtml(action)}">
  <h1>nvidia-oc</h1>
  <p>This recorder needs its access token (NVOC_TOKEN).</p>
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  ${problem === null ? "" : `<p class="problem" role="alert" data-testid="sign-in-problem">${escapeHtml(problem)}</p>`}
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`;
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
  });
  res.end(html);
}
