//! `quiver shell`: an interactive prompt for GraphQL, on a data directory or through a
//! server. A query may span lines: it runs once its braces balance. Lines starting with `:`
//! are commands. On a terminal: line editing, history kept in a file, coloured JSON; from a
//! pipe: the same, plain, without prompts (so scripts and tests can drive it).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use super::open_db;

const HELP: &str = "\
Type a GraphQL query or mutation; it runs when its braces balance (it may span lines).
Commands:
  :help            this text
  :schema          the schema (SDL)
  :vars {JSON}     set the variables for the next requests (:vars alone shows them, :vars {} clears)
  :history         the requests entered so far
  :quit            leave (Ctrl-D too)";

/// Where requests go.
enum Backend {
    Local(quiver::Database),
    Remote(Box<quiver::blocking::Client>),
}

impl Backend {
    /// Runs a request: the response object.
    fn run(&mut self, query: &str, vars: &Value) -> anyhow::Result<String> {
        Ok(match self {
            Backend::Local(db) => db.execute(query, vars).json().to_string(),
            Backend::Remote(client) => {
                client.query(query, vars).context("running the request")?.json().to_string()
            }
        })
    }

    fn schema(&mut self) -> anyhow::Result<String> {
        Ok(match self {
            Backend::Local(db) => db.schema(),
            Backend::Remote(client) => {
                let answer =
                    client.admin("schema.get", serde_json::json!({})).context("asking for the schema")?;
                answer["schema"].as_str().unwrap_or_default().to_string()
            }
        })
    }
}

/// Whether `text` holds a whole request: something besides blanks, and every `{` closed
/// (braces inside strings and comments do not count).
fn complete(text: &str) -> bool {
    let (mut depth, mut in_string, mut escaped, mut comment) = (0i64, false, false, false);
    for c in text.chars() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    !text.trim().is_empty() && depth <= 0
}

/// Pretty JSON, coloured for a terminal (keys blue, strings green, numbers yellow, literals
/// magenta).
fn render(json: &str, colour: bool) -> String {
    let Ok(value) = serde_json::from_str::<Value>(json) else { return json.to_string() };
    if !colour {
        return serde_json::to_string_pretty(&value).unwrap_or_else(|_| json.to_string());
    }
    let mut out = String::new();
    paint(&value, 0, &mut out);
    out
}

fn paint(v: &Value, indent: usize, out: &mut String) {
    const KEY: &str = "\x1b[34m";
    const STRING: &str = "\x1b[32m";
    const NUMBER: &str = "\x1b[33m";
    const LITERAL: &str = "\x1b[35m";
    const RESET: &str = "\x1b[0m";
    let pad = |n: usize| "  ".repeat(n);
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (k, item)) in map.iter().enumerate() {
                out.push_str(&format!("{}{KEY}{}{RESET}: ", pad(indent + 1), quoted(k)));
                paint(item, indent + 1, out);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{}}}", pad(indent)));
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                paint(item, indent + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{}]", pad(indent)));
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) => out.push_str(&format!("{STRING}{}{RESET}", quoted(s))),
        Value::Number(n) => out.push_str(&format!("{NUMBER}{n}{RESET}")),
        other => out.push_str(&format!("{LITERAL}{other}{RESET}")),
    }
}

/// Reads lines: through rustyline on a terminal, plainly from a pipe.
enum Input {
    Terminal(Box<rustyline::DefaultEditor>, Option<PathBuf>),
    Pipe(std::io::StdinLock<'static>),
}

impl Input {
    /// The next line, or `None` at the end of input.
    fn line(&mut self, prompt: &str) -> anyhow::Result<Option<String>> {
        match self {
            Input::Terminal(editor, _) => match editor.readline(prompt) {
                Ok(line) => Ok(Some(line)),
                // Ctrl-C drops the line being typed; Ctrl-D leaves.
                Err(rustyline::error::ReadlineError::Interrupted) => Ok(Some(String::new())),
                Err(rustyline::error::ReadlineError::Eof) => Ok(None),
                Err(e) => Err(e).context("reading the terminal"),
            },
            Input::Pipe(stdin) => {
                let mut line = String::new();
                match stdin.read_line(&mut line).context("reading stdin")? {
                    0 => Ok(None),
                    _ => Ok(Some(line.trim_end_matches(['\n', '\r']).to_string())),
                }
            }
        }
    }

    fn remember(&mut self, entry: &str) {
        if let Input::Terminal(editor, _) = self {
            let _ = editor.add_history_entry(entry);
        }
    }

    fn save(&mut self) {
        if let Input::Terminal(editor, Some(path)) = self
            && let Err(e) = editor.save_history(path)
        {
            eprintln!("warning: the history could not be saved to {}: {e}", path.display());
        }
    }
}

pub(crate) fn run(target: &super::Target, history_file: Option<PathBuf>) -> anyhow::Result<()> {
    let mut backend = match target.client()? {
        Some(client) => Backend::Remote(Box::new(client)),
        None => Backend::Local(open_db(&target.data, false)?),
    };
    let terminal = std::io::stdin().is_terminal();
    let colour = std::io::stdout().is_terminal();
    let mut input = if terminal {
        let mut editor = rustyline::DefaultEditor::new().context("starting the line editor")?;
        let history = history_file
            .clone()
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".quiver_history")));
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        let target = target.addr.clone().unwrap_or_else(|| target.data.display().to_string());
        println!("quiver shell on {target}: :help for help, Ctrl-D to leave");
        Input::Terminal(Box::new(editor), history)
    } else {
        Input::Pipe(std::io::stdin().lock())
    };
    let mut vars = Value::Null;
    let mut history: Vec<String> = Vec::new();
    let mut buffer = String::new();
    let mut stdout = std::io::stdout();
    loop {
        let prompt = if buffer.is_empty() { "quiver> " } else { "   ...> " };
        let Some(line) = input.line(prompt)? else { break };
        if buffer.is_empty() && line.trim_start().starts_with(':') {
            let line = line.trim();
            let (command, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            match command {
                ":help" | ":h" => println!("{HELP}"),
                ":quit" | ":q" | ":exit" => break,
                ":schema" => match backend.schema() {
                    Ok(sdl) => print!("{sdl}"),
                    Err(e) => eprintln!("error: {e:#}"),
                },
                ":vars" if rest.trim().is_empty() => println!("{}", render(&vars.to_string(), colour)),
                ":vars" => match serde_json::from_str::<Value>(rest) {
                    Ok(v @ Value::Object(_)) => vars = v,
                    Ok(_) => eprintln!("error: :vars takes a JSON object, like :vars {{\"id\": \"0x1\"}}"),
                    Err(e) => eprintln!("error: :vars: {e}"),
                },
                ":history" => {
                    for (i, entry) in history.iter().enumerate() {
                        println!("{:>4}  {}", i + 1, entry.replace('\n', "\n      "));
                    }
                }
                other => eprintln!("error: unknown command {other}: :help lists them"),
            }
            input.remember(line);
            continue;
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        if !complete(&buffer) {
            if buffer.trim().is_empty() {
                buffer.clear();
            }
            continue;
        }
        let request = std::mem::take(&mut buffer);
        input.remember(&request);
        history.push(request.clone());
        match backend.run(&request, &vars) {
            // A response with errors is shown like any other, in order with the rest.
            Ok(json) => println!("{}", render(&json, colour)),
            Err(e) => eprintln!("error: {e:#}"),
        }
        let _ = stdout.flush();
    }
    input.save();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_complete_when_their_braces_balance() {
        assert!(!complete(""));
        assert!(!complete("{ queryPerson {"));
        assert!(complete("{ queryPerson { name } }"));
        assert!(!complete("{ a(s: \"}\") {"));
        assert!(complete("query {\n  a # }\n}"));
        assert!(complete("{ a(s: \"\\\"{\") }"));
    }

    #[test]
    fn json_is_pretty_and_coloured_for_a_terminal() {
        let json = r#"{"data":{"a":[1,"x",null],"b":{}}}"#;
        assert_eq!(
            render(json, false),
            "{\n  \"data\": {\n    \"a\": [\n      1,\n      \"x\",\n      null\n    ],\n    \"b\": {}\n  }\n}"
        );
        let coloured = render(json, true);
        assert!(coloured.contains("\x1b[34m\"a\"\x1b[0m: ["), "{coloured}");
        assert!(coloured.contains("\x1b[33m1\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[32m\"x\"\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[35mnull\x1b[0m"), "{coloured}");
    }
}
