"""Reads an introspection answer (argument 1) and a query (argument 2): graphql-core, the
library the Python `gql` client builds on, must rebuild the schema from the answer and find the
query valid. Prints what it found; exits 1 if not."""
import json
import sys

from graphql import build_client_schema, get_introspection_query, parse, validate

answer = json.load(open(sys.argv[1]))
schema = build_client_schema(answer["data"])
problems = [e.message for e in validate(schema, parse(open(sys.argv[2]).read()))]
problems += [e.message for e in validate(schema, parse(get_introspection_query()))]
print(json.dumps({
    "query": schema.query_type.name,
    "mutation": schema.mutation_type.name if schema.mutation_type else None,
    "addCustomer": str(schema.mutation_type.fields["addCustomer"].type),
    "problems": problems,
}))
sys.exit(1 if problems else 0)
