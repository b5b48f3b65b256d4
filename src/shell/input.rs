//! arangosh's input rules: when is a typed command complete, paste cleanup, and the prompt's placeholders.

/// True when `text` is a complete command by arangosh's rules: parentheses, brackets and braces balanced
/// (closing more than opened counts as complete), no template literal and no `/* */` comment open.
/// String literals and `//` comments are skipped; a `\` outside strings skips the next character.
pub fn is_complete(text: &str) -> bool {
    let mut parens = 0i64;
    let mut brackets = 0i64;
    let mut braces = 0i64;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut template = false;
    while i < chars.len() {
        let c = chars[i];
        if template {
            match c {
                '\\' => i += 1,
                '`' => template = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            '\\' => i += 1,
            '\'' | '"' => {
                i += 1;
                while i < chars.len() && chars[i] != c && chars[i] != '\n' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '`' => template = true,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                loop {
                    if i + 1 >= chars.len() {
                        return false;
                    }
                    if chars[i] == '*' && chars[i + 1] == '/' {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            '(' => parens += 1,
            ')' => parens -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            '{' => braces += 1,
            '}' => braces -= 1,
            _ => {}
        }
        i += 1;
    }
    !template && parens <= 0 && brackets <= 0 && braces <= 0
}

/// Removes a pasted prompt from the start of a line: the current plain prompt, `arangosh>`, or `...>`
/// (so documentation transcripts can be pasted as they are).
pub fn strip_pasted_prompt<'a>(line: &'a str, prompt: &str) -> &'a str {
    let plain = prompt.trim_end();
    let rest = if !plain.is_empty() && line.starts_with(plain) {
        &line[plain.len()..]
    } else if let Some(r) = line.strip_prefix("arangosh>") {
        r
    } else if line.starts_with("...") {
        let dots = line.chars().take_while(|c| *c == '.').count();
        match line[dots..].strip_prefix('>') {
            Some(r) => r,
            None => return line,
        }
    } else {
        return line;
    };
    rest.trim_start_matches([' ', '\t'])
}

/// [`strip_pasted_prompt`] for each line of a pasted block (a terminal's bracketed paste arrives as one
/// input with its line breaks).
pub fn strip_pasted_prompts(text: &str, prompt: &str) -> String {
    text.split('\n')
        .map(|l| strip_pasted_prompt(l.trim_end_matches('\r'), prompt))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the prompt's placeholders need.
pub struct PromptInfo<'a> {
    pub endpoint: &'a str,
    pub database: &'a str,
    pub username: &'a str,
    pub connected: bool,
    pub now: f64,
    pub last_duration: f64,
    pub since_start: f64,
}

/// Expands `--console.prompt`: `%d` database, `%e` endpoint, `%E` endpoint without `tcp://`,
/// `http+tcp://`, `ssl://` or `unix://`, `%u` user, `%t` time, `%p` last command's duration, `%a` seconds
/// since start, `%%` a percent sign; other `%x` are dropped.
pub fn expand_prompt(template: &str, p: &PromptInfo<'_>) -> String {
    let mut out = String::new();
    let mut it = template.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('d') => out.push_str(if p.connected || !p.database.is_empty() {
                p.database
            } else {
                "[database]"
            }),
            Some('e') => out.push_str(if p.endpoint.is_empty() {
                "none"
            } else {
                p.endpoint
            }),
            Some('E') => {
                let e = p.endpoint;
                let stripped = ["http+tcp://", "tcp://", "ssl://", "unix://"]
                    .iter()
                    .find_map(|pre| e.strip_prefix(pre))
                    .unwrap_or(e);
                out.push_str(if e.is_empty() { "none" } else { stripped });
            }
            Some('u') => out.push_str(if p.username.is_empty() {
                "[user]"
            } else {
                p.username
            }),
            Some('t') => out.push_str(&format!("{:.6}", p.now)),
            Some('p') => out.push_str(&format!("{:.6}", p.last_duration)),
            Some('a') => out.push_str(&format!("{:.6}", p.since_start)),
            Some('%') => out.push('%'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_follows_arangosh() {
        assert!(is_complete("db._name()"));
        assert!(!is_complete("require('x').setupReplication({"));
        assert!(is_complete("f({\n a: 1\n})"));
        assert!(is_complete("x = '({['"));
        assert!(is_complete("x = 1 // ({["));
        assert!(!is_complete("x = `abc"));
        assert!(!is_complete("/* open"));
        assert!(is_complete("/* closed ( */ 1"));
        assert!(is_complete("})"));
        assert!(is_complete("x = \"a\\\"(\""));
    }

    #[test]
    fn pasted_prompts_are_removed() {
        let p = "127.0.0.1:8529@_system> ";
        assert_eq!(
            strip_pasted_prompt("127.0.0.1:8529@_system> db._name()", p),
            "db._name()"
        );
        assert_eq!(strip_pasted_prompt("arangosh> db._name()", p), "db._name()");
        assert_eq!(strip_pasted_prompt("........> a: 1", p), "a: 1");
        assert_eq!(strip_pasted_prompt("...spread", p), "...spread");
        assert_eq!(strip_pasted_prompt("x = 1", p), "x = 1");
        assert_eq!(
            strip_pasted_prompts("arangosh> f({\r\n...>   a: 1\n...> })", p),
            "f({\na: 1\n})"
        );
    }

    #[test]
    fn prompt_placeholders() {
        let info = PromptInfo {
            endpoint: "tcp://127.0.0.1:8529",
            database: "_system",
            username: "root",
            connected: true,
            now: 1.5,
            last_duration: 0.25,
            since_start: 2.0,
        };
        assert_eq!(expand_prompt("%E@%d> ", &info), "127.0.0.1:8529@_system> ");
        assert_eq!(
            expand_prompt("%e %u %% %x> ", &info),
            "tcp://127.0.0.1:8529 root % > "
        );
        assert_eq!(expand_prompt("%p", &info), "0.250000");
        let ssl = PromptInfo {
            endpoint: "http+ssl://h:1",
            ..info
        };
        assert_eq!(expand_prompt("%E", &ssl), "http+ssl://h:1");
    }
}
