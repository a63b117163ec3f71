//! Where a server listens, as people write it: `127.0.0.1:9001`, `localhost:0` (a name is
//! resolved, IPv4 first), or a bare port (`9001`, meaning 127.0.0.1: nothing is exposed
//! beyond this machine unless asked for).

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

/// Text that is none of the forms [`parse`] takes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "'{0}' is not an address to listen on: write HOST:PORT (127.0.0.1:9001, localhost:0) or a \
     port (9001, on 127.0.0.1)"
)]
pub struct NotAnAddress(pub String);

pub fn parse(text: &str) -> Result<SocketAddr, NotAnAddress> {
    let not_an_address = || NotAnAddress(text.to_string());
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (_, port) = text.rsplit_once(':').ok_or_else(not_an_address)?;
    port.parse::<u16>().map_err(|_| not_an_address())?;
    let found: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|_| not_an_address())?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(not_an_address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_a_name_or_an_address() {
        assert_eq!(parse("9001").unwrap(), "127.0.0.1:9001".parse().unwrap());
        assert_eq!(
            parse("localhost:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(parse("0.0.0.0:80").unwrap(), "0.0.0.0:80".parse().unwrap());
        assert_eq!(parse("[::1]:5").unwrap(), "[::1]:5".parse().unwrap());
        for bad in ["localhost", "localhost:x", "99999", ":"] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("not an address to listen on"),
                "{bad}: {e}"
            );
        }
    }
}
