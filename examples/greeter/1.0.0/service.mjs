// Greeter 1.0.0: the sample service Launchway releases in the demo and the tests.
// One self-contained ESM file with Node builtins only, because it is the deployable artifact itself:
// the local-process provider downloads it and runs `node main.mjs` with PORT, HOST and SERVICE_VERSION.
import { createServer } from 'node:http';

const BUILT_VERSION = '1.0.0';
const VERSION = process.env.SERVICE_VERSION || BUILT_VERSION;
const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT ?? '8080', 10);

// A name is 1-64 letters in any script; anything else is a client error rather than a greeting.
const NAME = /^\p{L}{1,64}$/u;

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function error(res, status, code, message, headers) {
  send(res, status, { error: { code, message } }, headers);
}

/** Decodes a path segment; a malformed escape is the caller's fault, not a crash. */
function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function greet(res, rawName) {
  const name = decodeSegment(rawName);
  if (name === undefined || !NAME.test(name)) {
    error(res, 400, 'VALIDATION_ERROR', 'name must be 1 to 64 letters');
    return;
  }
  send(res, 200, { message: `Hello, ${name}!`, version: VERSION });
}

function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const isGet = req.method === 'GET' || req.method === 'HEAD';

  if (path === '/health') {
    if (!isGet) return error(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`, { allow: 'GET' });
    return send(res, 200, { status: 'ok', version: VERSION });
  }
  const greeting = /^\/greetings\/([^/]+)$/.exec(path);
  if (greeting) {
    if (!isGet) return error(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`, { allow: 'GET' });
    return greet(res, greeting[1]);
  }
  return error(res, 404, 'NOT_FOUND', `no route for ${req.method} ${path}`);
}

const server = createServer((req, res) => {
  try {
    handle(req, res);
  } catch (err) {
    console.error(JSON.stringify({ level: 'ERROR', msg: 'request failed', error: String(err) }));
    if (!res.headersSent) error(res, 500, 'INTERNAL', 'internal error');
    else res.destroy();
  }
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  // The provider and the tests read this line to learn the port when PORT=0.
  console.log(
    JSON.stringify({ level: 'INFO', msg: 'listening', service: 'greeter', version: VERSION, url: `http://${HOST}:${port}`, port }),
  );
});

// Stop accepting connections and exit when the provider replaces or stops this version.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
