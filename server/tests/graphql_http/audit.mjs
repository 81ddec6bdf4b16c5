// Runs graphql-http's server audits (the GraphQL-over-HTTP conformance suite) against the URL
// given as the first argument and prints one JSON line per audit: {id, name, status, reason}.
// `error` marks a failed MUST, `warn` a failed SHOULD, `notice` a failed MAY.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
for (const r of results) {
  const line = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') {
    line.reason = r.reason;
    try {
      line.body = await r.response.text();
    } catch {
      line.body = null;
    }
    line.httpStatus = r.response.status;
  }
  console.log(JSON.stringify(line));
}
