#![allow(clippy::unwrap_used, missing_docs)]
//! CSV import: nodes of a type with every kind of field, edges by uid and by `@id` key, and
//! the error each bad file gets (file, line, column), with nothing of a failed batch applied.

use quiver_query::{Database, ImportOptions};
use serde_json::Value;

const SCHEMA: &str = r#"
enum Level { LOW HIGH }
type Person {
  id: ID!
  key: Int! @id
  name: String! @search(by: [hash])
  born: DateTime
  score: Float
  active: Boolean
  level: Level
  tags: [String]
  knows: [Person]
  employer: Company @hasInverse(field: staff)
}
type Company {
  id: ID!
  code: String! @id
  staff: [Person]
}
"#;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.set_schema(SCHEMA).unwrap();
    (dir, db)
}

fn query(db: &Database, q: &str) -> String {
    db.execute(q, &Value::Null).json().to_string()
}

#[test]
fn nodes_with_every_kind_of_field_then_edges_by_key_and_by_uid() {
    let (_dir, db) = db();
    let people = "key,name,born,score,active,level,tags\n\
                  1,Ada,1815-12-10T00:00:00Z,9.5,true,HIGH,\"[\"\"math\"\", \"\"poetry\"\"]\"\n\
                  2,\"Bob, Jr.\",,,false,LOW,[]\n\
                  3,Cy,,1e2,,,\n";
    let r = db.import_csv_nodes("people.csv", "Person", people).unwrap();
    assert_eq!((r.nodes, r.edges, r.batches), (3, 0, 1));
    let r = db.import_csv_nodes("companies.csv", "Company", "id,code\n0x100,ACME\n").unwrap();
    assert_eq!(r.nodes, 1);
    let r = db.import_csv_edges("knows.csv", "Person.knows", "key,key\n1,2\n1,3\n3,1\n").unwrap();
    assert_eq!((r.edges, r.batches), (3, 1));
    let r = db.import_csv_edges("employer.csv", "Person.employer", "key,id\n1,0x100\n2,0x100\n").unwrap();
    assert_eq!(r.edges, 2);
    assert_eq!(
        query(
            &db,
            "{ queryPerson { key name born score active level tags knows { key } employer { code } } }"
        ),
        concat!(
            r#"{"data":{"queryPerson":["#,
            r#"{"key":1,"name":"Ada","born":"1815-12-10T00:00:00Z","score":9.5,"active":true,"level":"HIGH","tags":["math","poetry"],"knows":[{"key":2},{"key":3}],"employer":{"code":"ACME"}},"#,
            r#"{"key":2,"name":"Bob, Jr.","born":null,"score":null,"active":false,"level":"LOW","tags":[],"knows":[],"employer":{"code":"ACME"}},"#,
            r#"{"key":3,"name":"Cy","born":null,"score":100.0,"active":null,"level":null,"tags":null,"knows":[{"key":1}],"employer":null}"#,
            "]}}"
        )
    );
    // The inverse side was kept too.
    assert_eq!(
        query(&db, "{ queryCompany { code staff { key } } }"),
        r#"{"data":{"queryCompany":[{"code":"ACME","staff":[{"key":1},{"key":2}]}]}}"#
    );
    // Fresh uids go above every stored one (the company's 0x100).
    db.import_csv_nodes("more.csv", "Person", "key,name\n4,Dee\n").unwrap();
    assert_eq!(
        query(&db, "{ queryPerson { id } }"),
        r#"{"data":{"queryPerson":[{"id":"0x1"},{"id":"0x2"},{"id":"0x3"},{"id":"0x101"}]}}"#
    );
}

#[test]
fn small_batches_commit_separately() {
    let (_dir, db) = db();
    let mut csv = String::from("key,name\n");
    for k in 0..10 {
        csv.push_str(&format!("{k},p{k}\n"));
    }
    let opts = ImportOptions { csv_batch_rows: 4, ..Default::default() };
    let mut seen = Vec::new();
    let r = db.import_csv_nodes_with("p.csv", "Person", &csv, &opts, &mut |p| seen.push(*p)).unwrap();
    assert_eq!(r.batches, 3);
    let progress =
        |records, nodes, edges, total| quiver_query::ImportProgress { records, total, nodes, edges };
    assert_eq!(seen, [progress(4, 4, 0, 10), progress(8, 8, 0, 10), progress(10, 10, 0, 10)]);
    let edges = "key,key\n0,1\n0,2\n0,3\n0,4\n0,5\n1,0\n";
    seen.clear();
    let r = db.import_csv_edges_with("e.csv", "Person.knows", edges, &opts, &mut |p| seen.push(*p)).unwrap();
    assert_eq!((r.edges, r.batches), (6, 2));
    assert_eq!(seen, [progress(4, 0, 4, 6), progress(6, 0, 6, 6)]);
    assert_eq!(
        query(&db, "{ getPerson(key: 0) { knowsAggregate { count } } }"),
        r#"{"data":{"getPerson":{"knowsAggregate":{"count":5}}}}"#
    );
}

/// A bad row fails its batch only: the batches before it stay, the rows of its own batch
/// before it do not, whether the error is a missing node or malformed CSV.
#[test]
fn an_edge_error_keeps_the_batches_before_it() {
    for (bad, message) in [
        ("0,9\n", "e.csv:6: key: no node has key 9"),
        ("0,1,2\n", "e.csv:6: -: bad CSV: a row of 3 cells; an edge file has two (source, target)"),
    ] {
        let (_dir, db) = db();
        let nodes: String = (0..6).map(|k| format!("{k},p{k}\n")).collect();
        db.import_csv_nodes("p.csv", "Person", &format!("key,name\n{nodes}")).unwrap();
        let opts = ImportOptions { csv_batch_rows: 2, ..Default::default() };
        let mut seen = Vec::new();
        let edges = format!("key,key\n0,1\n0,2\n0,3\n1,4\n{bad}1,5\n");
        let e = db.import_csv_edges_with("e.csv", "Person.knows", &edges, &opts, &mut |p| seen.push(p.edges));
        assert_eq!(e.unwrap_err().to_string(), message);
        assert_eq!(seen, [2, 4], "two batches committed");
        assert_eq!(
            query(&db, "{ queryPerson(filter: {key: {le: 1}}) { key knows { key } } }"),
            r#"{"data":{"queryPerson":[{"key":0,"knows":[{"key":1},{"key":2},{"key":3}]},{"key":1,"knows":[{"key":4}]}]}}"#
        );
    }
}

#[test]
fn each_bad_file_gets_its_error_and_nothing_of_its_batch_is_applied() {
    let (_dir, db) = db();
    db.import_csv_nodes("ok.csv", "Person", "key,name\n1,Ada\n").unwrap();
    let nodes = |text: &str| db.import_csv_nodes("p.csv", "Person", text).unwrap_err().to_string();
    let edges = |text: &str| db.import_csv_edges("e.csv", "Person.knows", text).unwrap_err().to_string();
    let cases = [
        (
            db.import_csv_nodes("p.csv", "Nobody", "key\n1\n").unwrap_err().to_string(),
            "p.csv:1: -: unknown type Nobody",
        ),
        (nodes("key,name,age\n2,Bob,3\n"), "p.csv:1: age: Person has no field age"),
        (
            nodes("key,name,knows\n2,Bob,1\n"),
            "p.csv:1: knows: knows is an edge: import it from an edge file (Person.knows)",
        ),
        (nodes("key\n2\n"), "p.csv:1: name: required field name has no column"),
        (nodes("key,name\n2,Bob\n3,\n"), "p.csv:3: name: required field name is empty"),
        (nodes("key,name,score\n2,Bob,1\n3,Cy,high\n"), "p.csv:3: score: expected Float, found \"high\""),
        (nodes("key,name,level\n2,Bob,MEDIUM\n"), "p.csv:2: level: \"MEDIUM\" is not a value of enum Level"),
        (
            nodes("key,name,tags\n2,Bob,math\n"),
            "p.csv:2: tags: a list field's cell must be a JSON array, found \"math\"",
        ),
        (nodes("id,key,name\nbob,2,Bob\n"), "p.csv:2: id: \"bob\" is not a uid such as 0x2a"),
        (
            nodes("key,name\n2,Bob\n3,Cy,extra\n"),
            "p.csv:3: -: bad CSV: CSV error: record 2 (line: 3, byte: 15): found record with 3 fields, but the previous record has 2 fields",
        ),
        (edges("key,key\n1,1\n1,9\n"), "e.csv:3: key: no node has key 9"),
        (
            edges("key,name\n1,Ada\n"),
            "e.csv:1: name: name is neither the ID field nor an @id field of Person: the header names how each end is found",
        ),
        (edges("key,key,key\n1,1,1\n"), "e.csv:1: -: an edge file has two columns (source, target), not 3"),
        (edges("id,key\n0x999,1\n"), "e.csv:2: id: no node 0x999"),
        (
            db.import_csv_edges("e.csv", "Person.name", "key,key\n1,1\n").unwrap_err().to_string(),
            "e.csv:1: name: Person.name is not an edge field",
        ),
        (
            db.import_csv_edges("e.csv", "knows", "key,key\n1,1\n").unwrap_err().to_string(),
            "e.csv:1: -: \"knows\": name the edge as Type.field",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    // A unique key twice.
    let e = nodes("key,name\n5,Eve\n1,Again\n");
    assert!(e.starts_with("p.csv:3: key: "), "{e}");
    // Nothing of any failed batch is there: only Ada, and no edge.
    assert_eq!(
        query(&db, "{ queryPerson { key knows { key } } }"),
        r#"{"data":{"queryPerson":[{"key":1,"knows":[]}]}}"#
    );
}

/// Int keys are found whether their nodes' uids follow them (arithmetic), they fill most of
/// their range (a table, holes included) or not (a hash), negative ones included; a key no
/// node has is an error in every case, inside the range or outside it.
#[test]
fn edges_by_dense_and_sparse_int_keys() {
    let cases =
        [([1i64, 2, 3], [4, 0]), ([3, 1, 2], [4, 0]), ([1, 2, 5], [3, 6]), ([-5, 1_000_000, 7], [4, 8])];
    for (keys, missing) in cases {
        let (_dir, db) = db();
        let nodes: String = keys.iter().map(|k| format!("{k},p{k}\n")).collect();
        db.import_csv_nodes("p.csv", "Person", &format!("key,name\n{nodes}")).unwrap();
        let edges = format!("key,key\n{},{}\n{},{}\n", keys[0], keys[1], keys[2], keys[0]);
        assert_eq!(db.import_csv_edges("e.csv", "Person.knows", &edges).unwrap().edges, 2);
        let answer = query(&db, "{ queryPerson(order: {asc: key}) { key knows { key } } }");
        let mut sorted = keys;
        sorted.sort();
        let knows = |k: i64| {
            if k == keys[0] {
                format!("[{{\"key\":{}}}]", keys[1])
            } else if k == keys[2] {
                format!("[{{\"key\":{}}}]", keys[0])
            } else {
                "[]".into()
            }
        };
        let want: Vec<String> =
            sorted.iter().map(|&k| format!("{{\"key\":{k},\"knows\":{}}}", knows(k))).collect();
        assert_eq!(answer, format!("{{\"data\":{{\"queryPerson\":[{}]}}}}", want.join(",")));
        for m in missing {
            let e = db
                .import_csv_edges("e.csv", "Person.knows", &format!("key,key\n{},{m}\n", keys[0]))
                .unwrap_err();
            assert_eq!(e.to_string(), format!("e.csv:2: key: no node has key {m}"), "{keys:?}");
        }
    }
}

/// Edge files are read as CSV whatever their shape: CRLF line ends, empty lines, quoted cells
/// (String keys holding commas and line ends), a quoted header; errors name the file's line.
#[test]
fn edge_files_in_any_csv_shape() {
    let (_dir, db) = db();
    db.import_csv_nodes("c.csv", "Company", "code\n\"a,b\"\n\"two\nlines\"\nplain\n").unwrap();
    db.import_csv_nodes("p.csv", "Person", "key,name\n1,Ada\n2,Bob\n3,Cy\n").unwrap();
    let staff = "\"code\",key\r\n\r\nplain,1\r\n\"a,b\",2\r\n\n\"two\nlines\",3\r\n";
    assert_eq!(db.import_csv_edges("s.csv", "Company.staff", staff).unwrap().edges, 3);
    assert_eq!(
        query(&db, "{ queryCompany { code staff { key } } }"),
        r#"{"data":{"queryCompany":[{"code":"a,b","staff":[{"key":2}]},{"code":"two\nlines","staff":[{"key":3}]},{"code":"plain","staff":[{"key":1}]}]}}"#
    );
    let e = db.import_csv_edges("s.csv", "Company.staff", "code,key\nplain,1\n\n\"a,b\",\"2\",3\n");
    assert_eq!(
        e.unwrap_err().to_string(),
        "s.csv:4: -: bad CSV: a row of 3 cells; an edge file has two (source, target)"
    );
    let e = db.import_csv_edges("s.csv", "Company.staff", "code,key\r\nplain,1\r\n\r\nnowhere,2\r\n");
    assert_eq!(e.unwrap_err().to_string(), "s.csv:4: code: no node has code nowhere");
}

/// Fewer rows than a quarter of a batch left at the end of a file join the last batch, for
/// nodes and edges alike; a quarter or more make a batch of their own.
#[test]
fn a_small_tail_joins_the_last_batch() {
    let (_dir, db) = db();
    let nodes = |from: i64, n: i64| -> String {
        let rows: String = (from..from + n).map(|k| format!("{k},p{k}\n")).collect();
        format!("key,name\n{rows}")
    };
    let opts = ImportOptions { csv_batch_rows: 8, ..Default::default() };
    let mut seen = Vec::new();
    // 8 + 8 + 1: the one left is under a quarter (2) of a batch.
    let r = db
        .import_csv_nodes_with("p.csv", "Person", &nodes(0, 17), &opts, &mut |p| seen.push(p.nodes))
        .unwrap();
    assert_eq!((r.nodes, r.batches, seen.as_slice()), (17, 2, &[8, 17][..]));
    seen.clear();
    // 8 + 2: two is a quarter.
    let r = db
        .import_csv_nodes_with("q.csv", "Person", &nodes(100, 10), &opts, &mut |p| seen.push(p.nodes))
        .unwrap();
    assert_eq!((r.nodes, r.batches, seen.as_slice()), (10, 2, &[8, 10][..]));
    let edges = |n: i64| -> String {
        let rows: String = (1..=n).map(|k| format!("0,{k}\n")).collect();
        format!("key,key\n{rows}")
    };
    for (n, batches, progress) in
        [(9, 1, vec![9]), (10, 2, vec![8, 10]), (16, 2, vec![8, 16]), (7, 1, vec![7])]
    {
        seen.clear();
        let r = db
            .import_csv_edges_with("e.csv", "Person.knows", &edges(n), &opts, &mut |p| seen.push(p.edges))
            .unwrap();
        assert_eq!((r.edges, r.batches, &seen), (n as u64, batches, &progress), "{n} edges");
    }
    assert_eq!(
        query(&db, "{ getPerson(key: 0) { knowsAggregate { count } } }"),
        r#"{"data":{"getPerson":{"knowsAggregate":{"count":16}}}}"#
    );
}
