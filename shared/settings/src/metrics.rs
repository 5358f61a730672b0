//! Where a worker serves its metrics, liveness and readiness endpoints.

use std::net::SocketAddr;

use crate::fields::{Fields, text};
use crate::problem::Problems;

/// The metrics endpoint of a worker process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The socket address `/metrics`, `/livez` and `/readyz` are served on
    /// (key `listen`, `0.0.0.0:9464` in the defaults); port 0 picks a free
    /// port.
    pub listen: SocketAddr,
}

impl MetricsSettings {
    pub(crate) fn read(mut fields: Fields, problems: &mut Problems) -> Option<Self> {
        let listen = fields.required("listen", problems, socket_address);
        fields.finish(problems);
        Some(Self { listen: listen? })
    }
}

/// An IP address and a port, such as `0.0.0.0:9464` or `[::]:9464`.
fn socket_address(value: toml::Value) -> Result<SocketAddr, String> {
    let address = text(value)?;
    address.trim().parse().map_err(|_| {
        format!("expected an ip address and port such as 0.0.0.0:9464, found {address:?}")
    })
}

#[cfg(test)]
mod tests {
    use toml::Value;

    use super::*;

    #[test]
    fn socket_addresses_of_either_family_are_accepted() {
        let v4 = socket_address(Value::String("0.0.0.0:9464".into())).unwrap();
        assert_eq!(v4.port(), 9464);
        let v6 = socket_address(Value::String("[::1]:0".into())).unwrap();
        assert!(v6.is_ipv6());
    }

    #[test]
    fn host_names_and_missing_ports_are_refused() {
        for refused in ["localhost:9464", "0.0.0.0", "9464", ""] {
            assert_eq!(
                socket_address(Value::String(refused.into())).unwrap_err(),
                format!("expected an ip address and port such as 0.0.0.0:9464, found {refused:?}")
            );
        }
        assert_eq!(
            socket_address(Value::Integer(9464)).unwrap_err(),
            "expected a string, found integer"
        );
    }
}
