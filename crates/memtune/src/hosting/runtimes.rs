//! Which runtimes Lambda Managed Instances supports: Java 21+, Python 3.13+, Node.js 22+,
//! .NET 8+ and the OS-only runtime provided.al2023 (Rust).
//! https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html

/// Ok when the runtime can run on Managed Instances, else why not.
pub fn managed_instances_support(runtime: Option<&str>) -> Result<(), String> {
    let Some(runtime) = runtime else {
        return Err("runtime unknown (container image): check it against the LMI runtimes".into());
    };
    let version = |prefix: &str| -> Option<Vec<u32>> {
        let rest = runtime.strip_prefix(prefix)?;
        let rest = rest.trim_end_matches(".x");
        rest.split('.').map(|p| p.parse().ok()).collect()
    };
    let at_least = |v: Option<Vec<u32>>, min: &[u32]| v.is_some_and(|v| v.as_slice() >= min);
    let supported = at_least(version("java"), &[21])
        || at_least(version("python"), &[3, 13])
        || at_least(version("nodejs"), &[22])
        || at_least(version("dotnet"), &[8])
        || runtime
            .strip_prefix("provided.al")
            .and_then(|y| y.parse::<u32>().ok())
            .is_some_and(|year| year >= 2023);
    if supported {
        Ok(())
    } else {
        Err(format!(
            "{runtime} is not an LMI runtime (Java 21+, Python 3.13+, Node.js 22+, .NET 8+, \
             provided.al2023)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::managed_instances_support as lmi;

    #[test]
    fn supported_runtimes_follow_the_aws_list() {
        for ok in [
            "java21",
            "java25",
            "python3.13",
            "python3.14",
            "nodejs22.x",
            "nodejs24.x",
            "dotnet8",
            "dotnet10",
            "provided.al2023",
        ] {
            assert!(lmi(Some(ok)).is_ok(), "{ok}");
        }
        for no in [
            "java17",
            "python3.12",
            "nodejs20.x",
            "dotnet6",
            "provided.al2",
            "ruby3.3",
            "python3.9",
        ] {
            assert!(lmi(Some(no)).unwrap_err().contains(no), "{no}");
        }
        assert!(lmi(None).unwrap_err().contains("container image"));
    }
}
