// Reads an introspection answer (argument 1) and a query (argument 2): graphql-js must rebuild
// the schema from the answer and find the query valid. Prints what it found; exits 1 if not.
import { buildClientSchema, validate, parse, getIntrospectionQuery } from 'graphql';
import fs from 'fs';

const answer = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const schema = buildClientSchema(answer.data);
const problems = [
  ...validate(schema, parse(fs.readFileSync(process.argv[3], 'utf8'))),
  ...validate(schema, parse(getIntrospectionQuery())),
].map((e) => e.message);
const mutation = schema.getMutationType();
console.log(JSON.stringify({
  types: Object.keys(schema.getTypeMap()).length,
  query: schema.getQueryType().name,
  mutation: mutation && mutation.name,
  addCustomer: mutation && String(mutation.getFields().addCustomer.type),
  problems,
}));
process.exit(problems.length ? 1 : 0);
