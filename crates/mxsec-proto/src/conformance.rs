//! The stable IDs that tie a rule to its tests and findings: the requirements of the
//! conformance checklist (`STS-POL-05`, `DANE-DNS-04`, `PFX-04`, ...) and the real-world
//! failures of the scenario catalogue (`T-01`, `M-05`, `D-07`, ...).
//!
//! [`ConformanceId`] has one variant per ID, generated from the one list below, so a
//! mistyped ID does not compile. It is written (in JSON and in text) exactly as the
//! checklist spells it, and ordered by that spelling.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! conformance_ids {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $id:literal,
    )*) => {
        /// A conformance or scenario ID.
        #[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
        pub enum ConformanceId {
            $(
                #[doc = concat!("`", $id, "`.")]
                $variant,
            )*
        }

        impl ConformanceId {
            /// Every ID, in the order of the checklist, then of the scenario catalogue.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The ID as the checklist writes it, e.g. `STS-POL-05`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $id,)*
                }
            }
        }
    };
}

conformance_ids! {
    // RFC 8461, MTA-STS
    StsTxt01 = "STS-TXT-01",
    StsTxt02 = "STS-TXT-02",
    StsTxt03 = "STS-TXT-03",
    StsTxt04 = "STS-TXT-04",
    StsTxt05 = "STS-TXT-05",
    StsTxt06 = "STS-TXT-06",
    StsTxt07 = "STS-TXT-07",
    StsPol01 = "STS-POL-01",
    StsPol02 = "STS-POL-02",
    StsPol03 = "STS-POL-03",
    StsPol04 = "STS-POL-04",
    StsPol05 = "STS-POL-05",
    StsPol06 = "STS-POL-06",
    StsPol07 = "STS-POL-07",
    StsPol08 = "STS-POL-08",
    StsFetch01 = "STS-FETCH-01",
    StsFetch02 = "STS-FETCH-02",
    StsFetch03 = "STS-FETCH-03",
    StsFetch04 = "STS-FETCH-04",
    StsFetch05 = "STS-FETCH-05",
    StsFetch06 = "STS-FETCH-06",
    StsFetch07 = "STS-FETCH-07",
    StsFetch08 = "STS-FETCH-08",
    StsFetch09 = "STS-FETCH-09",
    StsSel01 = "STS-SEL-01",
    StsSel02 = "STS-SEL-02",
    StsVal01 = "STS-VAL-01",
    StsVal02 = "STS-VAL-02",
    StsVal03 = "STS-VAL-03",
    StsVal04 = "STS-VAL-04",
    StsApp01 = "STS-APP-01",
    StsApp02 = "STS-APP-02",
    StsApp03 = "STS-APP-03",
    StsApp04 = "STS-APP-04",
    StsApp05 = "STS-APP-05",
    StsApp06 = "STS-APP-06",
    StsRpt01 = "STS-RPT-01",
    StsOps01 = "STS-OPS-01",
    StsOps02 = "STS-OPS-02",
    StsOps03 = "STS-OPS-03",
    StsOps04 = "STS-OPS-04",
    StsSec01 = "STS-SEC-01",
    StsSec02 = "STS-SEC-02",
    StsSec03 = "STS-SEC-03",
    // RFC 7672, DANE for SMTP (with RFC 6698 and RFC 7671)
    DaneDns01 = "DANE-DNS-01",
    DaneDns02 = "DANE-DNS-02",
    DaneDns03 = "DANE-DNS-03",
    DaneDns04 = "DANE-DNS-04",
    DaneDns05 = "DANE-DNS-05",
    DaneDns06 = "DANE-DNS-06",
    DaneDisc01 = "DANE-DISC-01",
    DaneDisc02 = "DANE-DISC-02",
    DaneDisc03 = "DANE-DISC-03",
    DaneDisc04 = "DANE-DISC-04",
    DaneDisc05 = "DANE-DISC-05",
    DaneDisc06 = "DANE-DISC-06",
    DaneDisc07 = "DANE-DISC-07",
    DaneTlsa01 = "DANE-TLSA-01",
    DaneTlsa02 = "DANE-TLSA-02",
    DaneTlsa03 = "DANE-TLSA-03",
    DaneTlsa04 = "DANE-TLSA-04",
    DaneTlsa05 = "DANE-TLSA-05",
    DaneTlsa06 = "DANE-TLSA-06",
    DaneAuth01 = "DANE-AUTH-01",
    DaneAuth02 = "DANE-AUTH-02",
    DaneAuth03 = "DANE-AUTH-03",
    DaneAuth04 = "DANE-AUTH-04",
    DaneAuth05 = "DANE-AUTH-05",
    DaneAuth06 = "DANE-AUTH-06",
    DaneAuth07 = "DANE-AUTH-07",
    DaneOps01 = "DANE-OPS-01",
    DaneOps02 = "DANE-OPS-02",
    DaneOps03 = "DANE-OPS-03",
    DaneOps04 = "DANE-OPS-04",
    // RFC 8460, SMTP TLS Reporting
    RptTxt01 = "RPT-TXT-01",
    RptTxt02 = "RPT-TXT-02",
    RptTxt03 = "RPT-TXT-03",
    RptTxt04 = "RPT-TXT-04",
    RptTxt05 = "RPT-TXT-05",
    RptJson01 = "RPT-JSON-01",
    RptJson02 = "RPT-JSON-02",
    RptJson03 = "RPT-JSON-03",
    RptRes01 = "RPT-RES-01",
    RptRes02 = "RPT-RES-02",
    RptRes03 = "RPT-RES-03",
    RptRes04 = "RPT-RES-04",
    RptRes05 = "RPT-RES-05",
    RptTime01 = "RPT-TIME-01",
    RptDel01 = "RPT-DEL-01",
    RptDel02 = "RPT-DEL-02",
    RptDel03 = "RPT-DEL-03",
    RptDel04 = "RPT-DEL-04",
    RptDel05 = "RPT-DEL-05",
    RptDel06 = "RPT-DEL-06",
    RptDel07 = "RPT-DEL-07",
    RptDel08 = "RPT-DEL-08",
    // RFC 3207, STARTTLS
    Stt01 = "STT-01",
    Stt02 = "STT-02",
    Stt03 = "STT-03",
    Stt04 = "STT-04",
    Stt05 = "STT-05",
    Stt06 = "STT-06",
    Stt07 = "STT-07",
    // DNSSEC, PKI and publishing practice
    DnssecAlg01 = "DNSSEC-ALG-01",
    DnssecAlg02 = "DNSSEC-ALG-02",
    DnssecDs01 = "DNSSEC-DS-01",
    // RFC 7672, DANE for SMTP (with RFC 6698 and RFC 7671)
    DaneTlsa08 = "DANE-TLSA-08",
    // RFC 8461, MTA-STS
    StsPol09 = "STS-POL-09",
    // DNSSEC, PKI and publishing practice
    Pkix01 = "PKIX-01",
    // Postfix integration
    Pfx01 = "PFX-01",
    Pfx02 = "PFX-02",
    Pfx03 = "PFX-03",
    Pfx04 = "PFX-04",
    Pfx05 = "PFX-05",
    Pfx06 = "PFX-06",
    Pfx07 = "PFX-07",
    Pfx08 = "PFX-08",
    // SCENARIOS.md, transport: STARTTLS and TLS
    T01 = "T-01",
    T02 = "T-02",
    T03 = "T-03",
    T04 = "T-04",
    T05 = "T-05",
    // SCENARIOS.md, MTA-STS
    M01 = "M-01",
    M02 = "M-02",
    M03 = "M-03",
    M04 = "M-04",
    M05 = "M-05",
    M06 = "M-06",
    M07 = "M-07",
    M08 = "M-08",
    M09 = "M-09",
    M10 = "M-10",
    M11 = "M-11",
    M12 = "M-12",
    M13 = "M-13",
    // SCENARIOS.md, DANE and DNSSEC
    D01 = "D-01",
    D02 = "D-02",
    D03 = "D-03",
    D04 = "D-04",
    D05 = "D-05",
    D06 = "D-06",
    D07 = "D-07",
    D08 = "D-08",
    D09 = "D-09",
    D10 = "D-10",
    D11 = "D-11",
    D12 = "D-12",
    D13 = "D-13",
    D14 = "D-14",
    // SCENARIOS.md, TLS-RPT
    R01 = "R-01",
    R02 = "R-02",
    R03 = "R-03",
    R04 = "R-04",
    // SCENARIOS.md, MX basics
    N01 = "N-01",
}

impl Ord for ConformanceId {
    /// By spelling, so that lists sorted by ID read as the IDs do.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for ConformanceId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ConformanceId {
    /// The ID as written; width and alignment apply (`{:<14}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A string that is not a known conformance or scenario ID.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown conformance ID {0:?}")]
pub struct UnknownId(pub String);

impl FromStr for ConformanceId {
    type Err = UnknownId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownId(s.to_owned()))
    }
}

impl Serialize for ConformanceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConformanceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `StsTxt05` → `STS-TXT-05`, `T01` → `T-01`: the spelling a variant's name stands for.
    fn spelling(variant: &str) -> String {
        let mut out = String::new();
        let mut previous: Option<char> = None;
        for c in variant.chars() {
            let starts_word = c.is_ascii_uppercase()
                || (c.is_ascii_digit() && previous.is_some_and(|p| !p.is_ascii_digit()));
            if starts_word && previous.is_some() {
                out.push('-');
            }
            out.push(c.to_ascii_uppercase());
            previous = Some(c);
        }
        out
    }

    #[test]
    fn every_variant_is_spelled_as_its_name_says() {
        for id in ConformanceId::ALL {
            assert_eq!(spelling(&format!("{id:?}")), id.as_str());
        }
    }

    #[test]
    fn ids_are_unique_and_parse_back() {
        let distinct: BTreeSet<&str> = ConformanceId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(distinct.len(), ConformanceId::ALL.len());
        for id in ConformanceId::ALL {
            assert_eq!(id.as_str().parse::<ConformanceId>(), Ok(*id));
        }
        assert_eq!(
            "STS-POL-5".parse::<ConformanceId>(),
            Err(UnknownId("STS-POL-5".to_owned()))
        );
    }

    #[test]
    fn serialised_as_spelled_and_padded_in_text() {
        let id = ConformanceId::StsPol05;
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"STS-POL-05\"");
        assert_eq!(
            serde_json::from_str::<ConformanceId>("\"T-01\"").unwrap(),
            ConformanceId::T01
        );
        assert!(serde_json::from_str::<ConformanceId>("\"X-99\"").is_err());
        assert_eq!(format!("[{id:<12}]"), "[STS-POL-05  ]");
    }

    #[test]
    fn ordered_by_spelling() {
        assert!(ConformanceId::DaneTlsa08 > ConformanceId::DaneDns01);
        assert!(ConformanceId::T01 > ConformanceId::StsTxt01);
    }
}
