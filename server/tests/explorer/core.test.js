// Tests of the explorer's logic (server/src/explorer/core.js), run by `node --test` from
// server/tests/explorer_js.rs.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const Core = require(path.join(__dirname, "../../src/explorer/core.js"));

const named = (name, kind = "OBJECT") => ({ kind, name, ofType: null });
const nonNull = (t) => ({ kind: "NON_NULL", name: null, ofType: t });
const list = (t) => ({ kind: "LIST", name: null, ofType: t });
const field = (name, type) => ({ name, type });

const SCHEMA = Core.readSchema({
  queryType: { name: "Query" },
  mutationType: { name: "Mutation" },
  types: [
    { name: "Query", kind: "OBJECT", fields: [field("getCustomer", named("Customer")), field("queryCustomer", list(named("Customer")))] },
    { name: "Mutation", kind: "OBJECT", fields: [field("addCustomer", named("AddCustomerPayload"))] },
    { name: "AddCustomerPayload", kind: "OBJECT", fields: [field("customer", list(named("Customer"))), field("numUids", named("Int", "SCALAR"))] },
    {
      name: "Customer", kind: "OBJECT", fields: [
        field("id", nonNull(named("ID", "SCALAR"))), field("name", nonNull(named("String", "SCALAR"))),
        field("orders", list(nonNull(named("Order")))), field("ordersAggregate", named("OrderAggregateResult")),
      ],
    },
    { name: "Order", kind: "OBJECT", fields: [field("id", nonNull(named("ID", "SCALAR"))), field("amount", named("Float", "SCALAR")), field("tags", list(named("String", "SCALAR")))] },
    { name: "OrderAggregateResult", kind: "OBJECT", fields: [field("count", named("Int", "SCALAR"))] },
    { name: "__Type", kind: "OBJECT", fields: [field("name", named("String", "SCALAR"))] },
    { name: "String", kind: "SCALAR", fields: null },
  ],
});

test("the schema is read with lists and non-null unwrapped", () => {
  assert.deepEqual(SCHEMA.types.Customer.fields.orders, { type: "Order", kind: "OBJECT", list: true });
  assert.deepEqual(SCHEMA.types.Customer.fields.id, { type: "ID", kind: "SCALAR", list: false });
  assert.equal(SCHEMA.queryType, "Query");
  assert.deepEqual(Core.storedTypes(SCHEMA), ["Customer", "Order"]);
});

test("completion follows the selection sets open at the cursor", () => {
  const at = (text) => Core.completions(text, text.length, SCHEMA).choices;
  assert.deepEqual(at("{ qu"), ["queryCustomer"]);
  assert.deepEqual(at("{ queryCustomer { n"), ["name"]);
  assert.deepEqual(at("{ queryCustomer { name or"), ["orders", "ordersAggregate"]);
  assert.deepEqual(at("{ queryCustomer { orders { am"), ["amount"]);
  // Braces in arguments, strings and comments open nothing.
  assert.deepEqual(at('{ queryCustomer(filter: {name: {eq: "{"}}) { # {\n na'), ["name"]);
  assert.deepEqual(at("{ queryCustomer { orders { amount } n"), ["name"]);
  assert.deepEqual(at("mutation { addCustomer(input: []) { cu"), ["customer"]);
  assert.deepEqual(at("{ queryCustomer { nope { x"), []);
  assert.deepEqual(at("{ queryCustomer { name"), []);
  assert.equal(Core.typeAt("query Q($id: ID!) { getCustomer(id: $id) { ", 43, SCHEMA), "Customer");
});

test("every object of an answer is a node, one per id, joined to what is under it", () => {
  const graph = { nodes: new Map(), edges: [] };
  const data = {
    queryCustomer: [
      { id: "0x1", name: "Ada", orders: [{ amount: 2, tags: ["a"] }, { id: "0x9", amount: 3 }] },
      { id: "0x2", name: "Bob", orders: [{ id: "0x9", amount: 3 }] },
    ],
  };
  Core.addObjects(graph, SCHEMA, data, "Query", null, null, "");
  assert.deepEqual([...graph.nodes.keys()], ["0x1", ".queryCustomer[0].orders[0]", "0x9", "0x2"]);
  assert.deepEqual(graph.edges.map((e) => `${e.from.key}-${e.label}->${e.to.key}`), [
    "0x1-orders->.queryCustomer[0].orders[0]", "0x1-orders->0x9", "0x2-orders->0x9",
  ]);
  const ada = graph.nodes.get("0x1");
  assert.deepEqual([ada.type, ada.fields], ["Customer", { id: "0x1", name: "Ada" }]);
  assert.deepEqual(graph.nodes.get(".queryCustomer[0].orders[0]").fields, { amount: 2, tags: ["a"] });
  assert.equal(graph.nodes.get("0x9").type, "Order");
});

test("expanding a node asks for its edges with their targets' scalars", () => {
  assert.equal(
    Core.expandQuery(SCHEMA, "Customer"),
    "query($id: ID!) { getCustomer(id: $id) { id name orders { id amount tags } } }",
  );
});
