//! Clap's usage errors as one line: what is wrong, clap's tip if it has one, and where the
//! help is, instead of its multi-line usage block.

use clap::CommandFactory;

/// "memtune" and the subcommand named on the command line, if it is one.
pub fn command_given(cli: &clap::Command, args: &[String]) -> String {
    let sub = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .filter(|a| cli.find_subcommand(a.as_str()).is_some());
    match sub {
        Some(sub) => format!("memtune {sub}"),
        None => "memtune".to_string(),
    }
}

/// The one line for clap's error on this process's own arguments.
pub fn for_this_process<C: CommandFactory>(error: &clap::Error) -> String {
    let args: Vec<String> = std::env::args().collect();
    one_line(
        &error.render().to_string(),
        &command_given(&C::command(), &args),
    )
}

/// The one line for a rendered clap error, e.g. "the argument '--passive' cannot be used
/// with '--apply' (see `memtune recommend --help`)". `command` (e.g. "memtune report") names
/// the help when clap's text has no usage line.
pub fn one_line(rendered: &str, command: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let what = lines
        .next()
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .unwrap_or("invalid arguments");
    let mut line = what.to_string();
    let rest: Vec<&str> = lines.collect();
    if let Some(tip) = rest.iter().find_map(|l| l.strip_prefix("tip: ")) {
        line.push_str("; ");
        line.push_str(tip);
    }
    let command = rest
        .iter()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| command.to_string());
    line.push_str(&format!(" (see `{command} --help`)"));
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn conflict_names_the_subcommand_help() {
        let rendered = "error: the argument '--passive' cannot be used with '--apply'\n\n\
                        Usage: memtune recommend --passive <FUNCTION>\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered, "memtune"),
            "the argument '--passive' cannot be used with '--apply' \
             (see `memtune recommend --help`)"
        );
    }

    #[test]
    fn tip_is_kept_on_the_line() {
        let rendered = "error: unexpected argument '--strat' found\n\n  \
                        tip: a similar argument exists: '--strategy'\n\n\
                        Usage: memtune recommend <FUNCTION|--strategy <STRATEGY>>\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered, "memtune"),
            "unexpected argument '--strat' found; a similar argument exists: '--strategy' \
             (see `memtune recommend --help`)"
        );
    }

    #[test]
    fn without_usage_points_at_the_command_given() {
        assert_eq!(
            one_line(
                "error: invalid value 'pdf' for '--format <FORMAT>'\n\n\
                 For more information, try '--help'.\n",
                "memtune report"
            ),
            "invalid value 'pdf' for '--format <FORMAT>' (see `memtune report --help`)"
        );
    }
}
