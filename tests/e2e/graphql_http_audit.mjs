// graphql-http's own audit of a GraphQL-over-HTTP server (`auditServer`), with an API key
// on every request. Run by tests/e2e/test_graphql_over_http.py:
//   node graphql_http_audit.mjs PACKAGE_HOME URL
// with the key in SUBSTORE_AUDIT_KEY (not argv: process lists are world-readable).
// PACKAGE_HOME is the npm prefix graphql-http is installed in (outside the repository).
// Prints one JSON array: every audit's id, name and status, and for those not ok the
// reason and the response's status, content type and body.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [home, url] = process.argv.slice(2);
const key = process.env.SUBSTORE_AUDIT_KEY;
const { auditServer } = createRequire(join(home, 'package.json'))('graphql-http');

function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

async function described(result) {
  const { id, name, status } = result;
  if (status === 'ok') return { id, name, status };
  const res = result.response;
  let body = '';
  try {
    body = (await res.text()).slice(0, 500);
  } catch {
    body = '(body already read)';
  }
  const contentType = res.headers.get('content-type');
  return { id, name, status, reason: result.reason, http: res.status, contentType, body };
}

const results = await auditServer({ url, fetchFn });
console.log(JSON.stringify(await Promise.all(results.map(described))));
