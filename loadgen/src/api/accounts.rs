//! Pre-provisioned accounts (`accounts.source = "file"`), for applications whose signup is closed:
//! one line per identity, in order; `#` starts a comment.
//!
//! ```text
//! alice@example.com  s3cret-1        # EMAIL PASSWORD: logged in with [login]
//! token eyJhbGciOi...  42            # token TOKEN [ACCOUNT_ID]: sent as it is
//! ```

use std::path::Path;

/// One identity's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    Credentials {
        email: String,
        password: String,
    },
    Token {
        token: String,
        account_id: Option<String>,
    },
}

/// Reads the accounts file.
pub fn load(path: &Path) -> Result<Vec<Provisioned>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read accounts.file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("accounts.file {}: {e}", path.display()))
}

fn parse(text: &str) -> Result<Vec<Provisioned>, String> {
    let mut accounts = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let account = match words.as_slice() {
            ["token", token] => Provisioned::Token {
                token: (*token).to_owned(),
                account_id: None,
            },
            ["token", token, id] => Provisioned::Token {
                token: (*token).to_owned(),
                account_id: Some((*id).to_owned()),
            },
            [email, password] => Provisioned::Credentials {
                email: (*email).to_owned(),
                password: (*password).to_owned(),
            },
            _ => {
                return Err(format!(
                    "line {}: write `EMAIL PASSWORD` or `token TOKEN [ACCOUNT_ID]`",
                    number + 1
                ));
            }
        };
        accounts.push(account);
    }
    if accounts.is_empty() {
        return Err("no account in the file".into());
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_credentials_or_tokens() {
        let accounts = parse("# users\na@example.com pw1\n\ntoken t2 42 # second\n").unwrap();
        assert_eq!(accounts.len(), 2, "every account line is read");
        assert_eq!(
            accounts[1],
            Provisioned::Token {
                token: "t2".into(),
                account_id: Some("42".into())
            },
            "a token line with an account id is read as a provisioned token"
        );
        assert!(
            parse("only-one-word").unwrap_err().contains("line 1"),
            "a line with one word is refused, naming its line"
        );
        assert!(
            parse("# nothing").is_err(),
            "a file with no account is refused"
        );
    }
}
