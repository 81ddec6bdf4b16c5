// The explorer's logic that needs no page: reading the schema from introspection, completing
// field names, and turning an answer into a graph. Inlined into explorer.html by the server;
// loaded by node for its tests (server/tests/explorer/core.test.js).
const QuiverCore = (() => {
  "use strict";

  // A field's named type, its kind, and whether a list wraps it.
  function unwrap(t) {
    let list = false;
    while (t && (t.kind === "NON_NULL" || t.kind === "LIST")) {
      if (t.kind === "LIST") list = true;
      t = t.ofType;
    }
    return { type: t ? t.name : null, kind: t ? t.kind : null, list };
  }

  // The introspection answer's `__schema` as { types: { name: { kind, fields: { name: field } } },
  // queryType, mutationType }.
  function readSchema(s) {
    const types = {};
    for (const t of s.types) {
      const fields = {};
      for (const f of t.fields || []) fields[f.name] = unwrap(f.type);
      types[t.name] = { kind: t.kind, fields };
    }
    return { types, queryType: s.queryType.name, mutationType: s.mutationType ? s.mutationType.name : null };
  }

  // The object types a user stores: objects with an ID field.
  function storedTypes(schema) {
    return Object.entries(schema.types)
      .filter(([name, t]) => t.kind === "OBJECT" && !name.startsWith("__") && Object.values(t.fields).some((f) => f.type === "ID"))
      .map(([name]) => name)
      .sort();
  }

  // The type whose fields can be typed at `pos`: follow the selection sets open there
  // (braces inside arguments, strings and comments do not open one).
  function typeAt(text, pos, schema) {
    const stack = [];
    let root = schema.queryType, last = null, paren = 0;
    const re = /"(?:[^"\\]|\\.)*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[{}()]/g;
    let m;
    while ((m = re.exec(text)) && m.index < pos) {
      const tok = m[0];
      if (tok[0] === '"' || tok[0] === "#") continue;
      if (tok === "(") { paren++; continue; }
      if (tok === ")") { paren--; continue; }
      if (paren > 0) continue;
      if (tok === "mutation" && stack.length === 0) { root = schema.mutationType; continue; }
      if (tok === "{") {
        const parent = stack.length ? stack[stack.length - 1] : null;
        const f = parent && schema.types[parent] && last ? schema.types[parent].fields[last] : null;
        stack.push(stack.length === 0 ? root : f ? f.type : null);
      } else if (tok === "}") stack.pop();
      else last = tok;
    }
    return stack.length ? stack[stack.length - 1] : null;
  }

  // The word being typed before `pos`, and the fields it may become.
  function completions(text, pos, schema) {
    const word = (text.slice(0, pos).match(/[A-Za-z_][A-Za-z0-9_]*$/) || [""])[0];
    const t = typeAt(text, pos - word.length, schema);
    const fields = t && schema.types[t] ? Object.keys(schema.types[t].fields) : [];
    return { word, choices: word ? fields.filter((f) => f.startsWith(word) && f !== word) : [] };
  }

  // Adds the objects under `value` (of type `type`) to `graph` ({ nodes: Map, edges: [] }):
  // every object is a node, one per `id` when it has one, else one per place in the answer;
  // an edge joins an object to each object under its fields. Returns the node made for
  // `value` when it is one object.
  function addObjects(graph, schema, value, type, parent, label, path) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => addObjects(graph, schema, v, type, parent, label, `${path}[${i}]`));
      return null;
    }
    if (value === null || typeof value !== "object") return null;
    let node = parent;
    const root = parent === null && (type === schema.queryType || type === schema.mutationType);
    if (!root) {
      const key = typeof value.id === "string" ? value.id : path;
      node = graph.nodes.get(key);
      if (!node) {
        node = { key, id: typeof value.id === "string" ? value.id : null, type: type || value.__typename || "?", fields: {}, x: 0, y: 0, vx: 0, vy: 0 };
        graph.nodes.set(key, node);
      }
      if (parent) graph.edges.push({ from: parent, to: node, label });
    }
    for (const [k, v] of Object.entries(value)) {
      const objects = v !== null && typeof v === "object" && !(Array.isArray(v) && v.every((x) => x === null || typeof x !== "object"));
      if (objects) {
        const f = type && schema.types[type] ? schema.types[type].fields[k] : null;
        addObjects(graph, schema, v, f ? f.type : null, node, k, `${path}.${k}`);
      } else if (node !== null) node.fields[k] = v;
    }
    return node;
  }

  // The request that fetches a node's edges, one level deep with their targets' scalars.
  function expandQuery(schema, type) {
    const scalars = (t) => Object.entries(schema.types[t].fields)
      .filter(([, f]) => f.kind === "SCALAR" || f.kind === "ENUM").map(([k]) => k).join(" ");
    const edges = Object.entries(schema.types[type].fields)
      .filter(([k, f]) => f.kind === "OBJECT" && schema.types[f.type] && !k.endsWith("Aggregate") && schema.types[f.type].fields.id)
      .map(([k, f]) => `${k} { ${scalars(f.type)} }`).join(" ");
    return `query($id: ID!) { get${type}(id: $id) { ${scalars(type)} ${edges} } }`;
  }

  return { unwrap, readSchema, storedTypes, typeAt, completions, addObjects, expandQuery };
})();
if (typeof module !== "undefined") module.exports = QuiverCore;
